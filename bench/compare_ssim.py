#!/usr/bin/env python3
"""SSIM / MS-SSIM loss+gradient: perceptcl against the PyTorch reference, in one run.

Runs the PyTorch workloads W1b (MS-SSIM, 32 x 96x96, same mode) and W2b (SSIM,
64 x 32x32, valid) of ../shared/bench/torch_ref and perceptcl's bench_ssim on the
same workloads, alternating (torch, perceptcl, torch, perceptcl) so both see the
same machine load, and prints the medians and the ratio.

Usage (from the repository root, after `ninja -C build`):
  /usr/bin/python3 bench/compare_ssim.py [--rounds 2] [--build build] [--torch-ref ../shared/bench/torch_ref]
  [--inference]: the W6 metric workloads instead (W6f: MS-SSIM, 256 x 96x96, same, PyTorch in
  chunks of 32; W6g: SSIM, 10 x 512x512, valid, PyTorch one pair at a time), no gradient.
Python is only the harness: perceptcl itself is the C program build/bench/bench_ssim.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

WORKLOADS = [("W1b", ["w1"], "MS-SSIM loss+grad, 32 x 96x96, same, 5 scales"),
             ("W2b", ["w2"], "SSIM loss+grad, 64 x 32x32, valid")]
# --inference: the W6 metric workloads (no gradient) against PyTorch's best variants.
INFERENCE = [("W6f", ["custom", "256", "96", "96", "5", "same", "--forward", "--iters", "4"],
              "MS-SSIM value, 256 x 96x96, same, 5 scales"),
             ("W6g", ["custom", "10", "512", "512", "1", "valid", "--forward", "--iters", "4"],
              "SSIM value, 10 x 512x512, valid")]


def torch_rate(torch_ref, name):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([sys.executable, os.path.join(torch_ref, "run.py"), "--only", name, "--out", out.name],
                       check=True, stdout=subprocess.DEVNULL)
        with open(out.name) as f:
            return json.load(f)["results"][0]["rate_median"]


def perceptcl_rate(build, workload):
    text = subprocess.run([os.path.join(build, "bench", "bench_ssim")] + workload, check=True,
                          capture_output=True, text=True).stdout
    return float(re.search(r"([0-9.]+) images/s median", text).group(1)), text.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--build", default="build")
    ap.add_argument("--torch-ref", default=os.path.join("..", "shared", "bench", "torch_ref"))
    ap.add_argument("--inference", action="store_true", help="the W6 metric workloads instead of W1/W2")
    args = ap.parse_args()
    print(f"loadavg at start: {os.getloadavg()}")
    print("| workload | PyTorch images/s | perceptcl images/s | ratio |")
    print("|---|---|---|---|")
    for torch_name, ours, what in (INFERENCE if args.inference else WORKLOADS):
        torch_rates, our_rates = [], []
        for _ in range(args.rounds):
            torch_rates.append(torch_rate(args.torch_ref, torch_name))
            rate, _ = perceptcl_rate(args.build, ours)
            our_rates.append(rate)
        t, p = statistics.median(torch_rates), statistics.median(our_rates)
        print(f"| {what} ({torch_name} / bench_ssim {' '.join(ours)}) | {t:,.0f} ({', '.join(f'{r:,.0f}' for r in torch_rates)}) "
              f"| {p:,.0f} ({', '.join(f'{r:,.0f}' for r in our_rates)}) | {p / t:.2f}x |", flush=True)
    print(f"loadavg at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
