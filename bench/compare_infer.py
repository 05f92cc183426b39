#!/usr/bin/env python3
"""SRCNN 9-5-5 test-time inference: perceptcl against PyTorch, in one alternated run.

Workload: every image of a folder (default ../shared/datasets/BSD100, else BSD200, else
Set14) prepared as `perceptcl srcnn eval` does (Y, modcrop, MATLAB bicubic down and up by
--scale), the whole image through the network with replicate padding in every layer (in
PyTorch: F.pad(x, (p, p, p, p), mode='replicate') before each valid conv, as perceptcl
does). Measured, each in a fresh process under /usr/bin/time -v (max RSS), alternating
torch, perceptcl, torch, perceptcl ... so both see the same machine load:
  torch net     the network alone over all images (torch.inference_mode, 2 threads)
  pcl net       the time inside pcl_srcnn_apply (build/bench/bench_infer)
  pcl eval      the whole `perceptcl srcnn eval --model M --scale S FOLDER` command
                (image decoding, bicubic, network, PSNR and SSIM), wall clock
  base eval     with --base-app PATH: the same command of another build (before/after)
Wall-clock and CPU seconds (all threads; the net rows: the network span only, the eval rows:
the whole process) both: on a shared machine the CPU time is the steadier of the two.
The inputs PyTorch sees are the ones perceptcl prepared (bench_infer --dump, once, before
the timed runs), and the two outputs are compared (max abs difference, 0..255 scale).

Usage (from the repository root, after `ninja -C build`):
  /usr/bin/python3 bench/compare_infer.py [--rounds 3] [--build build] [--data DIR]
      [--model models/srcnn_x4_mse.safetensors] [--scale 4] [--work /tmp/compare_infer]
      [--base-app OTHER_BUILD/apps/perceptcl] [--peak-fma PEAK_FMA_BINARY]
Python is only the harness; PyTorch is Debian's python3-torch (/usr/bin/python3).
"""
import argparse
import json
import os
import re
import statistics
import struct
import subprocess
import sys
import time

MACS_PER_PIXEL = 64 * 81 + 32 * 64 * 25 + 32 * 25  # conv1 + conv2 + conv3 of SRCNN 9-5-5
IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm")


def load_safetensors(path):
    """The float32 tensors of a .safetensors file, as torch tensors (no safetensors package)."""
    import numpy as np
    import torch
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {t['dtype']}, expected F32")
        a, b = t["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").copy().reshape(t["shape"]))
    return out


def torch_worker(args):
    """Times the PyTorch network over the dumped inputs; writes its outputs; prints JSON."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(2)
    w = load_safetensors(args.model)
    layers = [(w[f"conv{k}.weight"], w[f"conv{k}.bias"]) for k in (1, 2, 3)]

    def net(x):
        for k, (weight, bias) in enumerate(layers):
            p = weight.shape[-1] // 2
            x = F.conv2d(F.pad(x, (p, p, p, p), mode="replicate"), weight, bias)
            if k < 2:
                x = F.relu(x)
        return x

    index = json.load(open(os.path.join(args.work, "index.json")))
    inputs = []
    for e in index:
        raw = np.fromfile(os.path.join(args.work, e["name"] + ".in"), dtype="<f4")
        inputs.append(torch.from_numpy(raw.reshape(1, 1, e["height"], e["width"]) / np.float32(255)))
    with torch.inference_mode():
        net(inputs[0])  # warm-up, as bench_infer's
        seconds = cpu_seconds = 0.0
        outputs = []
        for x in inputs:
            t0, c0 = time.perf_counter(), time.process_time()
            y = net(x)
            seconds += time.perf_counter() - t0
            cpu_seconds += time.process_time() - c0
            outputs.append(y)
    for e, y in zip(index, outputs):
        (y[0, 0] * 255).numpy().astype("<f4").tofile(os.path.join(args.work, e["name"] + ".torch"))
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "images": len(inputs), "torch": torch.__version__,
                      "threads": torch.get_num_threads()}))


def timed(cmd, timeout):
    """Runs cmd under /usr/bin/time -v: (stdout, wall seconds, CPU seconds, max RSS in MB)."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()[-500:]}")

    def field(name):
        m = re.search(name + r": ([\d.]+)", p.stderr)
        return float(m.group(1)) if m else float("nan")
    cpu = field(r"User time \(seconds\)") + field(r"System time \(seconds\)")
    return p.stdout, wall, cpu, field(r"Maximum resident set size \(kbytes\)") / 1024


def last_json(text):
    return json.loads(text.strip().splitlines()[-1])


def compare_outputs(work):
    import numpy as np
    worst = 0.0
    for e in json.load(open(os.path.join(work, "index.json"))):
        a = np.fromfile(os.path.join(work, e["name"] + ".out"), dtype="<f4")
        b = np.fromfile(os.path.join(work, e["name"] + ".torch"), dtype="<f4")
        if a.shape != b.shape or not np.all(np.isfinite(a)):
            raise SystemExit(f"outputs of image {e['name']} differ in size or are not finite")
        worst = max(worst, float(np.max(np.abs(a.astype(np.float64) - b))))
    return worst


def blas_name():
    """torch's BLAS as the system resolves it, and whether its convolutions take oneDNN."""
    import torch
    blas = "?"
    link = "/etc/alternatives/libblas.so.3-x86_64-linux-gnu"
    if os.path.islink(link):
        blas = os.path.realpath(link).split("/")[-2]
    return f"{blas} (libblas.so.3), oneDNN {'on' if torch.backends.mkldnn.is_available() else 'off'}"


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--build", default="build")
    ap.add_argument("--data")
    ap.add_argument("--model", default="models/srcnn_x4_mse.safetensors")
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--work", default="/tmp/compare_infer")
    ap.add_argument("--timeout", type=int, default=1800)
    ap.add_argument("--peak-fma", help="../shared/bench/roofline/peak_fma.c built: run once per round (2 threads)")
    ap.add_argument("--base-app", help="another build's perceptcl: its srcnn eval timed too (before/after)")
    ap.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_worker:
        return torch_worker(args)
    if not args.data:
        for name in ("BSD100", "BSD200", "Set14"):
            d = os.path.join("..", "shared", "datasets", name)
            if os.path.isdir(d):
                args.data = d
                break
    if not args.data:
        raise SystemExit("no data set: pass --data DIR")
    images = sorted(os.path.join(args.data, f) for f in os.listdir(args.data) if f.lower().endswith(IMAGE_EXT))
    os.makedirs(args.work, exist_ok=True)
    bench = os.path.join(args.build, "bench", "bench_infer")
    app = os.path.join(args.build, "apps", "perceptcl")
    base = [bench, "--model", args.model, "--scale", str(args.scale)]
    # Untimed: perceptcl's inputs and outputs for PyTorch and the comparison.
    out, _, _, _ = timed(base + ["--dump", args.work] + images, args.timeout)
    info = last_json(out)
    torch_cmd = ["/usr/bin/python3", os.path.abspath(__file__), "--torch-worker", "--model", args.model,
                 "--work", args.work]
    eval_cmd = [app, "srcnn", "eval", "--model", args.model, "--scale", str(args.scale), args.data]
    rows = {"torch net": [], "pcl net": [], "pcl eval": []}
    if args.base_app:
        rows["base eval"] = []
    cpu = {k: [] for k in rows}
    rss = {k: [] for k in rows}
    torch_version = "?"
    peaks = []
    for r in range(args.rounds):
        if args.peak_fma:
            p = subprocess.run([args.peak_fma], capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="2"))
            peaks += [float(g) for g in re.findall(r"fma512 rep \d+: ([\d.]+) GFLOP/s", p.stdout)]
        out, wall, _, mb = timed(torch_cmd, args.timeout)
        t = last_json(out)
        torch_version = t["torch"]
        rows["torch net"].append(t["seconds"]), cpu["torch net"].append(t["cpu_seconds"]), rss["torch net"].append(mb)
        out, wall, _, mb = timed(base + images, args.timeout)
        p = last_json(out)
        rows["pcl net"].append(p["seconds"]), cpu["pcl net"].append(p["cpu_seconds"]), rss["pcl net"].append(mb)
        _, wall, c, mb = timed(eval_cmd, args.timeout)
        rows["pcl eval"].append(wall), cpu["pcl eval"].append(c), rss["pcl eval"].append(mb)
        if args.base_app:
            _, wall, c, mb = timed([args.base_app] + eval_cmd[1:], args.timeout)
            rows["base eval"].append(wall), cpu["base eval"].append(c), rss["base eval"].append(mb)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in rows.items()), file=sys.stderr)
    worst = compare_outputs(args.work)
    load = open("/proc/loadavg").read().split()[:3]
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"SRCNN 9-5-5 x{args.scale} inference, {info['images']} images of {args.data} "
          f"({info['pixels'] / 1e6:.2f} Mpixels), {args.model}")
    print(f"CPU {cpu_model()}; device {info['device']}; PyTorch {torch_version}, BLAS {blas_name()}, 2 threads; "
          f"load average {' '.join(load)}; {args.rounds} alternated rounds, medians")
    if peaks:
        print(f"FMA peak (peak_fma, AVX-512, 2 threads, once per round): median {statistics.median(peaks):.1f} "
              f"GFLOP/s, range {min(peaks):.1f}-{max(peaks):.1f}")
    mcpu = {k: statistics.median(v) for k, v in cpu.items()}
    flop = 2.0 * MACS_PER_PIXEL * info["pixels"]
    print(f"network: {flop / 1e12:.3f} TFLOP ({MACS_PER_PIXEL} MACs per pixel); "
          f"torch net {flop / med['torch net'] / 1e9:.1f} GFLOP/s, pcl net {flop / med['pcl net'] / 1e9:.1f} GFLOP/s "
          "(wall clock)")
    print("| workload | wall s | CPU s | max RSS MB | PyTorch net / this, wall | CPU |")
    print("|---|---|---|---|---|---|")
    for k in rows:
        print(f"| {k} | {med[k]:.2f} | {mcpu[k]:.2f} | {statistics.median(rss[k]):.0f} | "
              f"{med['torch net'] / med[k]:.2f}x | {mcpu['torch net'] / mcpu[k]:.2f}x |")
    print(f"outputs: max |perceptcl - PyTorch| = {worst:.3g} on the 0..255 scale")


if __name__ == "__main__":
    sys.exit(main())
