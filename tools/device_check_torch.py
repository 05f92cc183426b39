#!/usr/bin/env python3
"""PyTorch on the GPU, for tools/device-check.sh: the SSIM and training
workloads of bench/bench_ssim and bench/bench_train (W1b, W2b, W3a, W4b; their
definitions: ../shared/docs/BASELINES.md and ../shared/bench/torch_ref/run.py,
whose batches, models and SSIM this reuses) on torch.device("cuda") (CUDA or
ROCm builds alike). Prints one JSON object per workload: name, rate (items/s,
median of the timed steps), unit. Exits 77 when torch has no GPU.
Usage: device_check_torch.py --torch-ref DIR [--reps N]"""
import argparse
import json
import statistics
import sys
import time


def timed(step, warmup, reps, sync):
    for _ in range(warmup):
        step()
    sync()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--torch-ref", required=True)
    ap.add_argument("--reps", type=int, default=10)
    args = ap.parse_args()
    sys.path.insert(0, args.torch_ref)
    import torch
    if not torch.cuda.is_available():
        print("torch has no GPU (torch.cuda.is_available() is false)", file=sys.stderr)
        return 77
    import run  # the reference's batches and train step (its main() is not run)
    import ssim_torch
    from models import ConvAE, SRCNN
    dev = torch.device("cuda")
    sync = torch.cuda.synchronize
    # The reference keeps its window taps on the CPU: move them once.
    ssim_torch._BLUR.row = ssim_torch._BLUR.row.to(dev)
    ssim_torch._BLUR.col = ssim_torch._BLUR.col.to(dev)

    def similarity(fn, n, h, w):
        x = run.smooth_images(n, h, w, 0.0, 1.0, seed=1).to(dev)
        y0 = run.distorted(x.cpu(), 0.0, 1.0, seed=2).to(dev)

        def step():
            y = y0.clone().requires_grad_(True)
            loss = 1 - fn(x, y)
            loss.backward()
        return step

    def training(model, make_opt, x, target, loss_fn):
        torch.manual_seed(0)
        model = model.to(dev)
        return run.train_step(model, make_opt(model.parameters()), x, target, loss_fn)

    work = []
    work.append(("W1b", 32, "images/s", similarity(lambda x, y: ssim_torch.ms_ssim(x, y, 1.0, "same"), 32, 96, 96)))
    work.append(("W2b", 64, "images/s", similarity(lambda x, y: ssim_torch.ssim(x, y, 1.0, "valid"), 64, 32, 32)))
    x3 = run.smooth_images(128, 33, 33, 0.0, 1.0, seed=3).to(dev)
    work.append(("W3a", 128, "patches/s",
                 training(SRCNN(), lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9), x3,
                          x3[:, :, 8:25, 8:25].clone(), run.mse)))
    x4 = run.smooth_images(64, 96, 96, -1.0, 1.0, seed=4).to(dev)
    work.append(("W4b", 64, "images/s",
                 training(ConvAE(), lambda p: torch.optim.Adam(p, lr=1e-3), x4, x4,
                          lambda o, t: 1 - ssim_torch.ms_ssim(t, o, 2.0, "same"))))
    for name, batch, unit, step in work:
        seconds = timed(step, 3, args.reps, sync)
        print(json.dumps(dict(name=name, rate=batch / seconds, unit=unit, device=torch.cuda.get_device_name(0),
                              torch=torch.__version__)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
