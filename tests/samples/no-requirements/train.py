"""Train a tiny colour-histogram classifier on generated images.

Research code: no requirements file, run with whatever was installed on the lab machine.
"""

import argparse

import cv2
import numpy as np
import yaml

from utils.features import histogram

try:
    import wandb  # optional experiment tracking
except ImportError:
    wandb = None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="configs/train.yaml")
    args = parser.parse_args()
    with open(args.config, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    rng = np.random.default_rng(config["seed"])
    images = rng.integers(0, 255, size=(config["samples"], 16, 16, 3), dtype=np.uint8)
    blurred = np.stack([cv2.GaussianBlur(img, (3, 3), 0) for img in images])
    features = np.stack([histogram(img, config["bins"]) for img in blurred])
    print(f"features {features.shape} from {len(images)} images (opencv {cv2.__version__})")


if __name__ == "__main__":
    main()
