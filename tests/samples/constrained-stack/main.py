"""Print the versions the image runs: the constraints file's, not the newest ones."""

import numpy
import pandas
import sklearn
from tabulate import tabulate


def main() -> None:
    rows = [
        ("numpy", numpy.__version__),
        ("pandas", pandas.__version__),
        ("scikit-learn", sklearn.__version__),
    ]
    print(tabulate(rows, headers=["library", "version"]))


if __name__ == "__main__":
    main()
