#!/usr/bin/env python3
"""Two builds of bench_layers --split, alternated, per-stage medians side by side.

On a shared 2-core VM one stage's time moves by 20% from run to run, more than most kernel
changes; alternating the two builds run by run (base, new, base, new, ...) lets both see
the same load, and the medians over the rounds are compared.

Usage (from the repository root):
  /usr/bin/python3 bench/ab_layers.py --base BUILD_A --new BUILD_B [--rounds 5] -- \\
      --backend own --reps 5 --only srcnn --split
Everything after `--` goes to both bench/bench_layers binaries (it must include --split
or --stage: the per-stage forward / dW / dx lines are what is compared). A base build of
an older commit: `git worktree add /tmp/base COMMIT && meson setup /tmp/base/build
/tmp/base && ninja -C /tmp/base/build` (copy the current bench/bench_layers.c there first
if that commit's has no --split for the workload).
Python is only the harness.
"""
import argparse
import re
import statistics
import subprocess
import sys

LINE = re.compile(r"^\s+(\S.*?)\s+forward\s")
PASS = re.compile(r"(forward|dW|dx)\s+([0-9.]+) ms")


def run(build, args):
    out = subprocess.run([build + "/bench/bench_layers"] + args, capture_output=True, text=True, check=True).stdout
    times = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if m:
            for kind, ms in PASS.findall(line):
                times[(m.group(1), kind)] = float(ms)
    if not times:
        sys.exit("no per-stage lines in the output of %s/bench/bench_layers (pass --split)" % build)
    return times


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True, help="build folder of the reference")
    p.add_argument("--new", required=True, help="build folder of the change")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("bench_args", nargs=argparse.REMAINDER)
    a = p.parse_args()
    args = a.bench_args[1:] if a.bench_args[:1] == ["--"] else a.bench_args
    runs = {"base": [], "new": []}
    for _ in range(a.rounds):
        runs["base"].append(run(a.base, args))
        runs["new"].append(run(a.new, args))
    print("| stage | pass | base ms | new ms | base / new |")
    print("|---|---|---|---|---|")
    for key in runs["new"][0]:
        base = statistics.median(r[key] for r in runs["base"] if key in r) if key in runs["base"][0] else None
        new = statistics.median(r[key] for r in runs["new"])
        if new == 0 and not base:
            continue  # no input gradient for a first layer
        ratio = "%.2f" % (base / new) if base and new else "-"
        print("| %s | %s | %s | %.1f | %s |" % (key[0], key[1], "%.1f" % base if base is not None else "-", new, ratio))


if __name__ == "__main__":
    main()
