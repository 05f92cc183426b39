#!/usr/bin/env python3
"""Whole training steps: perceptcl against the PyTorch reference, in one run.

Runs the PyTorch workloads W3a (SRCNN 9-5-5, 128 x 33x33, SGD, MSE), W4a / W4b (conv
autoencoder, 64 x 96x96, Adam, MSE / 1 - MS-SSIM) and W5a (FC autoencoder, 64 x 32x32,
SGD with weight decay, MSE) of ../shared/bench/torch_ref (their definitions imported
from its run.py, torch.set_num_threads(2)) and perceptcl's bench_train on the same
workloads, alternating (torch, perceptcl, torch, perceptcl) so both see the same machine
load, and prints the medians and the ratio. Each measurement is a fresh process, run
under /usr/bin/time: its peak resident set size ("Maximum resident set size", which
with PoCL includes every device buffer) is the memory column, the largest of the
rounds, with the same in bytes per image of the batch.

Usage (from the repository root, after `ninja -C build`):
  /usr/bin/python3 bench/compare_train.py [--rounds 2] [--build build] [--only W3a,W5a]
      [--reps N] [--timeout S] [--torch-ref ../shared/bench/torch_ref]
--reps overrides the timed steps of both sides (default: run.py's, 20 or 10); the
untimed warm-up steps are run.py's (2 or 3) on both sides. The environment is passed on
as is (OPENBLAS_CORETYPE matters to W5a: see ../shared/docs/BASELINES.md).
Python is only the harness: perceptcl itself is the C program build/bench/bench_train.
"""
import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

WORKLOADS = ["W3a", "W4a", "W4b", "W5a"]


def torch_worker(torch_ref, name, reps):
    """Runs one run.py variant in this process and prints its result as JSON."""
    spec = importlib.util.spec_from_file_location("torch_ref_run", os.path.join(torch_ref, "run.py"))
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    run.torch.set_num_threads(run.THREADS)
    v = next(v for v in run.variants() if v["name"] == name)
    if reps:
        v["reps"] = reps
    r = run.run_variant(v)
    r["torch"] = run.torch.__version__
    r["threads"] = run.torch.get_num_threads()
    print(json.dumps(r))


def measure(cmd, timeout):
    """Runs cmd under /usr/bin/time; returns (the last JSON line of its stdout with
    "peak_rss_bytes" added, its stderr), or (None, why)."""
    with tempfile.NamedTemporaryFile(mode="r", suffix=".rss") as rss:
        try:
            p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name] + cmd, capture_output=True, text=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, f"timed out (> {timeout} s)"
        if p.returncode != 0:
            return None, f"failed ({p.returncode}): {p.stderr.strip()[-300:]}"
        result = json.loads(p.stdout.strip().splitlines()[-1])
        result["peak_rss_bytes"] = int(rss.read().split()[-1]) * 1024  # GNU time: kbytes
    return result, p.stderr


def torch_rate(args, name):
    cmd = [sys.executable, os.path.abspath(__file__), "--torch-worker", name, "--torch-ref", args.torch_ref]
    if args.reps:
        cmd += ["--reps", str(args.reps)]
    return measure(cmd, args.timeout)


def perceptcl_rate(args, name):
    cmd = [os.path.join(args.build, "bench", "bench_train"), "--only", name, "--json"]
    if args.reps:
        cmd += ["--reps", str(args.reps)]
    return measure(cmd, args.timeout)


def cpu_name():
    with open("/proc/cpuinfo") as f:
        return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")


def fmt(rates):
    return ", ".join(f"{r:,.1f}" if r is not None else "-" for r in rates)


def memory(results, batch):
    """The largest peak RSS of the rounds, in MB and in bytes per image."""
    peaks = [r["peak_rss_bytes"] for r in results if r]
    if not peaks or not batch:
        return "-"
    return f"{max(peaks) / 1e6:,.0f} MB ({max(peaks) / batch / 1e6:,.1f} MB/image)"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--build", default="build")
    ap.add_argument("--only", help="comma-separated workloads (default: " + ",".join(WORKLOADS) + ")")
    ap.add_argument("--reps", type=int, help="timed steps per measurement, both sides (default: run.py's)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds allowed per measurement")
    ap.add_argument("--torch-ref", default=os.path.join("..", "shared", "bench", "torch_ref"))
    ap.add_argument("--torch-worker", metavar="NAME", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_worker:
        torch_worker(args.torch_ref, args.torch_worker, args.reps)
        return
    names = args.only.split(",") if args.only else WORKLOADS
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        ap.error(f"unknown workload(s) {', '.join(unknown)} (known: {', '.join(WORKLOADS)})")

    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; CPU: {cpu_name()}, "
          f"{os.cpu_count()} CPUs; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print(f"loadavg at start: {os.getloadavg()}")
    details = []
    print("| workload | PyTorch | perceptcl | ratio | perceptcl GFLOP/s | perceptcl loss, first -> last step "
          "| peak RSS PyTorch | peak RSS perceptcl | RSS ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in names:
        torch_rates, our_rates, ours, theirs = [], [], [], []
        for _ in range(args.rounds):
            t, why = torch_rate(args, name)
            torch_rates.append(t["rate_median"] if t else None)
            if t:
                theirs.append(t)
                details.append(f"PyTorch {t['torch']}, {t['threads']} threads")
            else:
                details.append(f"{name} PyTorch: {why}")
            p, err = perceptcl_rate(args, name)
            our_rates.append(p["rate_median"] if p else None)
            if p:
                ours.append(p)
                details += [line for line in err.splitlines() if line.startswith("device:")][:1]
            else:
                details.append(f"{name} perceptcl: {err}")
        got_t = [r for r in torch_rates if r is not None]
        got_p = [r for r in our_rates if r is not None]
        tm = statistics.median(got_t) if got_t else None
        pm = statistics.median(got_p) if got_p else None
        unit = ours[0]["unit"] if ours else (t["unit"] if t else "")
        what = ours[0]["what"] if ours else name
        ratio = f"{pm / tm:.2f}x" if tm and pm else "-"
        gf = fmt([p["gflops_median"] for p in ours])
        # Deterministic, so each round's losses are normally the same: each distinct one once.
        losses = "; ".join(dict.fromkeys(f"{p['first_loss']:.4g} -> {p['last_loss']:.4g} (lowest {min(p['losses']):.4g})"
                                         for p in ours))
        batch = ours[0].get("batch") if ours else None
        batch = batch or (theirs[0].get("batch") if theirs else None)
        tmem = max((r["peak_rss_bytes"] for r in theirs), default=0)
        pmem = max((r["peak_rss_bytes"] for r in ours), default=0)
        mratio = f"{pmem / tmem:.2f}x" if tmem and pmem else "-"
        print(f"| {name}: {what} | {tm or 0:,.1f} {unit} ({fmt(torch_rates)}) | {pm or 0:,.1f} ({fmt(our_rates)}) "
              f"| {ratio} | {gf} | {losses} | {memory(theirs, batch)} | {memory(ours, batch)} | {mratio} |",
              flush=True)
    print(f"loadavg at end: {os.getloadavg()}")
    for line in dict.fromkeys(details):  # each distinct line once, in order
        print(line)


if __name__ == "__main__":
    main()
