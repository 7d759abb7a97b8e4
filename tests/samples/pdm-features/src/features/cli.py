"""build-features EVENTS_CSV OUT_PARQUET"""

import sys

import pandas as pd


def main() -> None:
    events = pd.read_csv(sys.argv[1])
    features = events.groupby("customer_id").agg(events=("event", "count"))
    features.to_parquet(sys.argv[2])
    print(f"{len(features)} customers")
