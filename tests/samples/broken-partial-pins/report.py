"""Write the week's readings as a Parquet file. numpy is pinned, pyarrow is not: resolved
today, pyarrow is a release that needs NumPy 2, and the import fails; resolved as of the
day the pin was written, it is one built for NumPy 1."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

readings = np.linspace(18.5, 22.0, 7)
table = pa.table({"day": list(range(1, 8)), "celsius": readings})
pq.write_table(table, "/tmp/readings.parquet")
print(pq.read_table("/tmp/readings.parquet").num_rows, "readings written")
