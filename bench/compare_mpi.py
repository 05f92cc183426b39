#!/usr/bin/env python3
"""Data-parallel scaling on one machine: bench_train's workloads as one process
and under mpirun with 2 ranks, the gradient exchange during the backward
(4 MiB buckets, the default) and after it (one bucket), alternated per round;
then bench_comm on 2 ranks (the exchange alone, and the model of 10 / 100
Gbit/s links). Medians of the global images per second.

  /usr/bin/python3 bench/compare_mpi.py --build build [--rounds 2] [--only W3a,W5a,W4a]

Prints a Markdown table; bench/RESULTS.md records its runs."""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

CONFIGS = [("1 rank", 1, None), ("2 ranks, 4 MiB buckets", 2, 4), ("2 ranks, one bucket", 2, 100000)]


def run(build, ranks, bucket, workload, reps):
    cmd = [os.path.join(build, "bench", "bench_train"), "--only", workload, "--json"]
    if reps:
        cmd += ["--reps", str(reps)]
    if bucket:
        cmd += ["--bucket-mb", str(bucket)]
    if ranks > 1:
        cmd = [shutil.which("mpirun") or "mpirun", "--oversubscribe", "-np", str(ranks)] + cmd
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {out.returncode}\n{out.stderr}")
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    exchange = [l for l in out.stderr.splitlines() if "gradient exchanges" in l]
    return doc, exchange[0] if exchange else ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", default="W3a,W5a,W4a")
    ap.add_argument("--reps", type=int, default=0, help="timed steps (0: bench_train's default)")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    print("| workload | " + " | ".join(c[0] for c in CONFIGS) + " | 2 ranks / 1 rank | exchange (2 ranks, 4 MiB) |")
    print("|---|" + "---|" * (len(CONFIGS) + 2))
    for workload in args.only.split(","):
        rates = {c[0]: [] for c in CONFIGS}
        unit, note = "", ""
        losses = set()
        for _ in range(args.rounds):
            for name, ranks, bucket in CONFIGS:
                doc, exchange = run(args.build, ranks, bucket, workload, args.reps)
                rates[name].append(doc["rate_median"])
                unit = doc["unit"]
                losses.add(f"{doc['last_loss']:.5g}")
                if bucket == 4:
                    note = exchange
        med = {k: statistics.median(v) for k, v in rates.items()}
        cells = " | ".join(f"{med[c[0]]:.2f} ({', '.join(f'{r:.2f}' for r in rates[c[0]])})" for c in CONFIGS)
        print(f"| {workload} ({unit}) | {cells} | {med[CONFIGS[1][0]] / med[CONFIGS[0][0]]:.2f}x | {note} |",
              flush=True)
        print(f"<!-- {workload}: last losses seen {sorted(losses)} -->", flush=True)
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    comm = subprocess.run([shutil.which("mpirun") or "mpirun", "--oversubscribe", "-np", "2",
                           os.path.join(args.build, "bench", "bench_comm")], capture_output=True, text=True, env=env)
    print()
    print(comm.stdout)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
