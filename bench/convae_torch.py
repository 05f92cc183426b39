"""PyTorch's run of `perceptcl convae train`'s recipe on the narrow conv AE
(pcl_arch_conv_ae_96_narrow: filters 8, 16, 32, bottleneck 128): PyTorch's
default initialisation, Adam (betas 0.9, 0.999), MSE, full batches of a folder
of 96x96 8-bit PGM images scaled to [-1, 1] with a random left-right flip per
image per step (the app's substitute draw on 96x96 images). Prints the loss of
every step as CSV (step,loss) so that it can be set beside the app's --log.

usage: python3 bench/convae_torch.py PGM_DIR --steps 200 --lr 1e-3 --seed 1
(bench/RESULTS.md, "The conv AE in the app")."""

import argparse
import glob
import os

import numpy as np
import torch
from torch import nn


def read_pgm(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, width, height, maxval, pixels = data.split(maxsplit=4)
    assert magic == b"P5" and int(maxval) == 255, path
    return np.frombuffer(pixels, dtype=np.uint8, count=int(width) * int(height)).reshape(int(height), int(width))


def narrow_conv_ae():
    c1, c2, c3, bottleneck = 8, 16, 32, 128
    return nn.Sequential(
        nn.Conv2d(1, c1, 5, stride=2, padding=2), nn.ReLU(),
        nn.Conv2d(c1, c2, 5, stride=2, padding=2), nn.ReLU(),
        nn.Conv2d(c2, c3, 5, stride=2, padding=2), nn.ReLU(),
        nn.Flatten(), nn.Linear(c3 * 12 * 12, bottleneck), nn.Tanh(),
        nn.Linear(bottleneck, c3 * 12 * 12), nn.ReLU(), nn.Unflatten(1, (c3, 12, 12)),
        nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c3, c2, 5, padding=2), nn.ReLU(),
        nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c2, c1, 5, padding=2), nn.ReLU(),
        nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c1, 1, 5, padding=2), nn.Tanh(),
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    files = sorted(glob.glob(os.path.join(args.folder, "*.pgm")))
    images = np.stack([read_pgm(f) for f in files]).astype(np.float64)
    x = torch.tensor(2.0 * images / 255.0 - 1.0, dtype=torch.float32).unsqueeze(1)
    net = narrow_conv_ae()
    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    generator = torch.Generator().manual_seed(args.seed)
    print("step,loss")
    for step in range(1, args.steps + 1):
        flip = torch.rand(len(files), generator=generator) < 0.5
        batch = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
        optimizer.zero_grad()
        loss = ((net(batch) - batch) ** 2).mean()
        loss.backward()
        optimizer.step()
        print(f"{step},{loss.item():.7g}")


if __name__ == "__main__":
    main()
