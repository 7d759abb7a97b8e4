"""Train from a config file, which must be given."""

import argparse

import yaml

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--config", required=True, help="a YAML file of hyper-parameters")
args = parser.parse_args()
with open(args.config, encoding="utf-8") as handle:
    print("training with", yaml.safe_load(handle))
