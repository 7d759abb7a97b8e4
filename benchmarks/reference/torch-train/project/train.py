"""A small training script: the benchmark's torch project."""

import numpy as np
import torch


def main() -> None:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    x = torch.from_numpy(np.random.rand(256, 8).astype("float32")).to(device)
    model = torch.nn.Linear(8, 1).to(device)
    loss = model(x).pow(2).mean()
    loss.backward()
    print(f"loss {loss.item():.4f} on {device}")


if __name__ == "__main__":
    main()
