"""Print a one-week demand forecast for a synthetic series."""

import numpy as np
import pandas as pd
from tabulate import tabulate

from forecast.model import baseline

if __name__ == "__main__":
    days = pd.date_range("2024-01-01", periods=28, freq="D")
    demand = pd.Series(100 + 10 * np.sin(np.arange(28) / 7 * 2 * np.pi), index=days)
    rows = list(zip(days[-7:].strftime("%a"), baseline(demand)[-7:].round(1)))
    print(tabulate(rows, headers=["day", "forecast"]))
