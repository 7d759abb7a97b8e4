"""Train a small decoder on pre-tokenised shards and save checkpoints."""

import argparse
from pathlib import Path

import numpy as np
import torch
import yaml
from apex.optimizers import FusedAdam
from tqdm import tqdm

from fusedattn import FusedRMSNorm, RotaryAttention


def load_shards(folder: Path) -> np.ndarray:
    shards = sorted(folder.glob("*.npy"))
    return np.concatenate([np.load(s) for s in shards])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="configs/base.yaml")
    args = parser.parse_args()
    config = yaml.safe_load(Path(args.config).read_text())

    device = torch.device("cuda")
    model = torch.nn.Sequential(
        torch.nn.Embedding(config["vocab"], config["dim"]),
        RotaryAttention(config["dim"], config["heads"]),
        FusedRMSNorm(config["dim"]),
        torch.nn.Linear(config["dim"], config["vocab"]),
    ).to(device)
    optimizer = FusedAdam(model.parameters(), lr=config["lr"])
    tokens = torch.from_numpy(load_shards(Path("data/tokens")).astype("int64"))

    for step in tqdm(range(config["steps"])):
        batch = tokens[step * 64 : (step + 1) * 64 + 1].to(device)
        logits = model(batch[:-1].unsqueeze(0))
        loss = torch.nn.functional.cross_entropy(logits.squeeze(0), batch[1:])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    Path("checkpoints").mkdir(exist_ok=True)
    torch.save(model.state_dict(), "checkpoints/last.pt")


if __name__ == "__main__":
    main()
