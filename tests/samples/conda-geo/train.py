"""Train the flood-risk segmentation model on tiles in data/tiles."""

import torch


def main() -> None:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = torch.nn.Conv2d(4, 1, 3).to(device)
    print(model)


if __name__ == "__main__":
    main()
