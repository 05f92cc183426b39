#!/usr/bin/env python3
"""Test-time inference: perceptcl against PyTorch, in one alternated run.

Six workloads, each measured in fresh processes under /usr/bin/time -v (max RSS),
alternating torch, perceptcl, torch, perceptcl ... so both sides see the same machine load.

SRCNN eval (default): every image of a folder (default ../shared/datasets/BSD100, else
BSD200, else Set14) prepared as `perceptcl srcnn eval` does (Y, modcrop, MATLAB bicubic
down and up by --scale), the whole image through the network with replicate padding in
every layer (in PyTorch: F.pad(x, (p, p, p, p), mode='replicate') before each valid conv,
as perceptcl does). Rows:
  torch net     the network alone over all images (torch.inference_mode, 2 threads)
  pcl net       the time inside pcl_srcnn_apply (build/bench/bench_infer)
  pcl eval      the whole `perceptcl srcnn eval --model M --scale S FOLDER` command
                (image decoding, bicubic, network, PSNR and SSIM), wall clock
  base eval     with --base-app PATH: the same command of another build (before/after)

SRCNN upscale (--upscale IMAGE): the same rows for `perceptcl srcnn upscale --model M
--scale S IMAGE OUT.png` (8-bit YCbCr, bicubic up, the network on Y, back to RGB, the PNG
written): the networks see the Y plane that command builds; with --base-app the two
commands' PNGs are decoded and their pixels compared (PIL).

Conv AE (--convae N): pcl_arch_conv_ae_96 (app. A.2: 3 stride-2 convs 128/256/512, dense
bottleneck 128, 3 upsample + conv) reconstructing a batch of N 96x96 images in inference
mode: perceptcl `bench_infer --convae N` against ../shared/bench/torch_ref/models.py's
ConvAE under torch.inference_mode with the same weights (perceptcl's PyTorch-default
initialisation, seed 1, loaded from the safetensors it writes) and the same input; the
time of one batch (upload, forward, download for perceptcl), median of --reps batches
after one warm-up, per process.

FC AE (--fcae N): the same for pcl_arch_fc_binary_ae (app. A.1: dense 1024-8192-...-256,
the code thresholded to -1/+1 as at test time, the mirrored decoder) against models.py's
FCAE, N 32x32 images. A code bit whose pre-activation lies within float32 rounding of 0 may
come out differently on the two sides; the output comparison reports how many images differ
by more than 1e-3.

EL-VAE (--elvae N): pcl_arch_elvae_96 (app. B: the conv AE's encoder, one dense layer to the
mean and log-variance of a 128-d z, the VAE sampler, the conv AE's decoder) as `perceptcl
elvae reconstruct` runs it: in inference mode the sampler passes the posterior mode z = mu on
(no noise), N 96x96 images. PyTorch: bench/torch_mirrors.py's ELVAE (one module per perceptcl
layer; ../shared/bench/torch_ref has no EL-VAE).

Yale B AE (--yaleb N): pcl_arch_yaleb_ae_48 (app. C: the conv AE at 48x48, a 32-unit ReLU
bottleneck, batch normalisation after every layer but the output) as `perceptcl yaleb
reconstruct` runs it, N 48x48 images, each batch normalisation on its running statistics:
bench_infer sets them with one untimed training-mode forward of the batch (so that they are
not the initial 0 / 1), and PyTorch (torch_mirrors.py's YaleBAE, eval mode) loads them from
the safetensors file with the weights.

Wall-clock and CPU seconds (all threads; the net rows: the network span only, the app rows:
the whole process) both: on a shared machine the CPU time is the steadier of the two.
The inputs PyTorch sees are the ones perceptcl prepared (bench_infer --dump, once, before
the timed runs), and the two outputs are compared (max abs difference).

Usage (from the repository root, after `ninja -C build`):
  /usr/bin/python3 bench/compare_infer.py [--rounds 3] [--build build] [--data DIR]
      [--model models/srcnn_x4_mse.safetensors] [--scale 4] [--work /tmp/compare_infer]
      [--upscale IMAGE | --convae 64 | --fcae 256 | --elvae 64 | --yaleb 256] [--reps 3]
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


# Per autoencoder: where its PyTorch class comes from (source: "models", the shared
# ../shared/bench/torch_ref/models.py, or "torch_mirrors", bench/torch_mirrors.py), the class,
# the image side, perceptcl's layer indices (its tensor names) -> the module path in the
# PyTorch model (every parameter and buffer of that module, batch normalisation's running
# statistics included, is loaded from "<index>.<name>"), and what it is.
AUTOENCODERS = {
    "convae": dict(source="models", cls="ConvAE", side=96, what="conv AE (pcl_arch_conv_ae_96)",
                   modules={0: "encoder.0", 2: "encoder.2", 4: "encoder.4", 6: "encoder.7", 8: "decoder.0",
                            12: "decoder.4", 15: "decoder.7", 18: "decoder.10"}),
    "fcae": dict(source="models", cls="FCAE", side=32, what="FC binary AE (pcl_arch_fc_binary_ae)",
                 modules={**{2 * i: f"encoder.{2 * i}" for i in range(6)},
                          **{12 + 2 * i: f"decoder.{2 * i}" for i in range(6)}}),
    "elvae": dict(source="torch_mirrors", cls="ELVAE", side=96,
                  what="EL-VAE (pcl_arch_elvae_96, posterior mode z = mu)",
                  modules={i: str(i) for i in (0, 2, 4, 6, 8, 12, 15, 18)}),
    "yaleb": dict(source="torch_mirrors", cls="YaleBAE", side=48,
                  what="Yale B AE (pcl_arch_yaleb_ae_48, batch norm on running statistics set by one training-mode "
                       "forward)",
                  modules={i: str(i) for i in (0, 1, 3, 4, 6, 7, 9, 10, 12, 13, 17, 18, 21, 22, 25)}),
}


def load_autoencoder(net, modules, w, path):
    """Copies perceptcl's tensors w (from path) into net: for each layer index -> module path, the
    module's own parameters and buffers (PyTorch's num_batches_tracked aside) from "<index>.<name>".
    Every tensor of w must be used and every one wanted must be there, same number of values."""
    import torch
    used = set()
    with torch.no_grad():
        for index, module_path in modules.items():
            m = net.get_submodule(module_path)
            for name, t in list(m.named_parameters(recurse=False)) + list(m.named_buffers(recurse=False)):
                if name == "num_batches_tracked":
                    continue
                key = f"{index}.{name}"
                if key not in w:
                    raise SystemExit(f"{path}: no tensor {key} for {module_path}.{name}")
                if w[key].numel() != t.numel():
                    raise SystemExit(f"{path}: {key} has {w[key].numel()} values, {module_path}.{name} {t.numel()}")
                t.copy_(w[key].reshape(t.shape))
                used.add(key)
    if set(w) - used:
        raise SystemExit(f"{path}: tensors with no PyTorch counterpart: {', '.join(sorted(set(w) - used))}")


def ae_worker(args, kind):
    """Times PyTorch's autoencoder on perceptcl's weights and input; writes its output; prints JSON."""
    import importlib
    import numpy as np
    import torch
    torch.set_num_threads(2)
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "..", "shared", "bench", "torch_ref"))
    sys.path.insert(0, os.path.join(here, "..", "shared", "bench", "torch_ref"))
    sys.path.insert(0, here)  # torch_mirrors
    ae = AUTOENCODERS[kind]
    net = getattr(importlib.import_module(ae["source"]), ae["cls"])().eval()
    batch = getattr(args, kind)
    path = os.path.join(args.work, kind + ".safetensors")
    load_autoencoder(net, ae["modules"], load_safetensors(path), path)
    raw = np.fromfile(os.path.join(args.work, kind + ".in"), dtype="<f4")
    x = torch.from_numpy(raw.reshape(batch, 1, ae["side"], ae["side"]))
    seconds, cpu_seconds = [], []
    with torch.inference_mode():
        y = net(x)  # warm-up, as bench_infer's
        for _ in range(args.reps):
            t0, c0 = time.perf_counter(), time.process_time()
            y = net(x)
            seconds.append(time.perf_counter() - t0)
            cpu_seconds.append(time.process_time() - c0)
    y.numpy().astype("<f4").tofile(os.path.join(args.work, kind + ".torch"))
    print(json.dumps({"seconds": statistics.median(seconds), "cpu_seconds": statistics.median(cpu_seconds),
                      "seconds_each": seconds, "images": batch, "torch": torch.__version__,
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


def peak_fma(args, peaks):
    """Runs peak_fma once (2 threads) when asked; adds its AVX-512 figures to peaks."""
    if args.peak_fma:
        p = subprocess.run([args.peak_fma], capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="2"))
        peaks += [float(g) for g in re.findall(r"fma512 rep \d+: ([\d.]+) GFLOP/s", p.stdout)]


def print_machine(device, torch_version, rounds, peaks, load_start):
    load = open("/proc/loadavg").read().split()[:3]
    print(f"CPU {cpu_model()}; device {device}; PyTorch {torch_version}, BLAS {blas_name()}, 2 threads; "
          f"load average {load_start} at start, {' '.join(load)} at end; {rounds} alternated rounds, medians")
    if peaks:
        print(f"FMA peak (peak_fma, AVX-512, 2 threads, once per round): median {statistics.median(peaks):.1f} "
              f"GFLOP/s, range {min(peaks):.1f}-{max(peaks):.1f}")


def print_table(rows, cpu, rss, reference, extra=None):
    """One markdown row per workload: medians, the rounds in brackets, ratios to the reference row."""
    med = {k: statistics.median(v) for k, v in rows.items()}
    mcpu = {k: statistics.median(v) for k, v in cpu.items()}
    head = "| workload | wall s (rounds) | CPU s | max RSS MB |" + (f" {extra[0]} |" if extra else "")
    print(head + " PyTorch net / this, wall | CPU |")
    print("|---" * (head.count("|") + 1) + "|")
    for k in rows:
        rounds = ", ".join(f"{v:.2f}" for v in rows[k])
        print(f"| {k} | {med[k]:.2f} ({rounds}) | {mcpu[k]:.2f} | {max(rss[k]):.0f} |"
              + (f" {extra[1](med[k])} |" if extra else "")
              + f" {med[reference] / med[k]:.2f}x | {mcpu[reference] / mcpu[k]:.2f}x |")


def png_pixels_equal(a, b):
    """Whether two PNG files decode to the same samples (PIL), or None without PIL."""
    try:
        from PIL import Image
    except ImportError:
        return None
    import numpy as np
    x, y = np.asarray(Image.open(a)), np.asarray(Image.open(b))
    return x.shape == y.shape and bool(np.array_equal(x, y))


def start_rows(names):
    """Empty wall / CPU / RSS columns per row name, the FMA peaks' list and the load at the start."""
    rows = {k: [] for k in names}
    return rows, {k: [] for k in names}, {k: [] for k in names}, [], open("/proc/loadavg").read().split()[0]


def net_round(torch_cmd, pcl_cmd, rows, cpu, rss, timeout):
    """One round of the two networks alone: each side's own seconds and CPU seconds (its JSON) and the
    process's max RSS into rows, cpu and rss under "torch net" and "pcl net"; returns torch's version."""
    version = "?"
    for key, cmd in (("torch net", torch_cmd), ("pcl net", pcl_cmd)):
        out, _, _, mb = timed(cmd, timeout)
        doc = last_json(out)
        rows[key].append(doc["seconds"]), cpu[key].append(doc["cpu_seconds"]), rss[key].append(mb)
        version = doc.get("torch", version)
    return version


def run_srcnn(args):
    if args.upscale:
        images = [args.upscale]
    else:
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
    base = [bench, "--model", args.model, "--scale", str(args.scale)] + (["--upscale"] if args.upscale else [])
    # Untimed: perceptcl's inputs and outputs for PyTorch and the comparison.
    out, _, _, _ = timed(base + ["--dump", args.work] + images, args.timeout)
    info = last_json(out)
    torch_cmd = ["/usr/bin/python3", os.path.abspath(__file__), "--torch-worker", "--model", args.model,
                 "--work", args.work]
    command = "upscale" if args.upscale else "eval"
    png = {"pcl": os.path.join(args.work, "pcl.png"), "base": os.path.join(args.work, "base.png")}

    def app_cmd(binary, which):
        if args.upscale:
            return [binary, "srcnn", "upscale", "--model", args.model, "--scale", str(args.scale), args.upscale,
                    png[which]]
        return [binary, "srcnn", "eval", "--model", args.model, "--scale", str(args.scale), args.data]
    names = ["torch net", "pcl net", f"pcl {command}"] + ([f"base {command}"] if args.base_app else [])
    rows, cpu, rss, peaks, load_start = start_rows(names)
    torch_version = "?"
    for r in range(args.rounds):
        peak_fma(args, peaks)
        torch_version = net_round(torch_cmd, base + images, rows, cpu, rss, args.timeout)
        _, wall, c, mb = timed(app_cmd(app, "pcl"), args.timeout)
        k = f"pcl {command}"
        rows[k].append(wall), cpu[k].append(c), rss[k].append(mb)
        if args.base_app:
            _, wall, c, mb = timed(app_cmd(args.base_app, "base"), args.timeout)
            k = f"base {command}"
            rows[k].append(wall), cpu[k].append(c), rss[k].append(mb)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in rows.items()), file=sys.stderr)
    worst = compare_outputs(args.work)
    what = f"`srcnn upscale` of {args.upscale}" if args.upscale else f"{info['images']} images of {args.data}"
    print(f"SRCNN 9-5-5 x{args.scale} inference, {what} ({info['pixels'] / 1e6:.2f} Mpixels through the network), "
          f"{args.model}")
    print_machine(info["device"], torch_version, args.rounds, peaks, load_start)
    flop = 2.0 * MACS_PER_PIXEL * info["pixels"]
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"network: {flop / 1e12:.3f} TFLOP ({MACS_PER_PIXEL} MACs per pixel); "
          f"torch net {flop / med['torch net'] / 1e9:.1f} GFLOP/s, pcl net {flop / med['pcl net'] / 1e9:.1f} GFLOP/s "
          "(wall clock)")
    print_table(rows, cpu, rss, "torch net")
    print(f"outputs: max |perceptcl - PyTorch| = {worst:.3g} on the 0..255 scale")
    if args.upscale and args.base_app:
        same = png_pixels_equal(png["pcl"], png["base"])
        sizes = ", ".join(f"{k} {os.path.getsize(v) / 1e6:.2f} MB" for k, v in png.items())
        print(f"PNG files: {sizes}; pixels {'identical' if same else 'not compared (no PIL)' if same is None else 'DIFFER'}")


def run_ae(args, kind):
    os.makedirs(args.work, exist_ok=True)
    batch = getattr(args, kind)
    bench = [os.path.join(args.build, "bench", "bench_infer"), "--" + kind, str(batch)]
    out, _, _, _ = timed(bench + ["--reps", "1", "--dump", args.work], args.timeout)  # weights, input, output
    info = last_json(out)
    torch_cmd = ["/usr/bin/python3", os.path.abspath(__file__), "--ae-worker", kind, "--" + kind, str(batch),
                 "--reps", str(args.reps), "--work", args.work]
    rows, cpu, rss, peaks, load_start = start_rows(["torch net", "pcl net"])
    torch_version = "?"
    for r in range(args.rounds):
        peak_fma(args, peaks)
        torch_version = net_round(torch_cmd, bench + ["--reps", str(args.reps)], rows, cpu, rss, args.timeout)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in rows.items()), file=sys.stderr)
    import numpy as np
    side = AUTOENCODERS[kind]["side"]
    a = np.fromfile(os.path.join(args.work, kind + ".out"), dtype="<f4")
    b = np.fromfile(os.path.join(args.work, kind + ".torch"), dtype="<f4")
    if a.shape != b.shape or not np.all(np.isfinite(a)):
        raise SystemExit(f"{kind} outputs differ in size or are not finite")
    diff = np.abs(a.astype(np.float64) - b).reshape(batch, side * side)
    print(f"{AUTOENCODERS[kind]['what']} reconstruction, batch {batch} x {side}x{side}, inference mode, "
          f"PyTorch-default weights (seed 1); per process one warm-up batch, then the median of {args.reps}")
    print_machine(info["device"], torch_version, args.rounds, peaks, load_start)
    flop = info["flop"]
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"network: {flop / 1e9:.1f} GFLOP per batch; torch {flop / med['torch net'] / 1e9:.1f} GFLOP/s, "
          f"perceptcl {flop / med['pcl net'] / 1e9:.1f} GFLOP/s (wall clock)")
    print_table(rows, cpu, rss, "torch net", ("images/s", lambda sec: f"{batch / sec:.2f}"))
    print(f"outputs: max |perceptcl - PyTorch| = {diff.max():.3g} (tanh output, max |output| {np.max(np.abs(b)):.3g}, "
          f"mean |output| {np.mean(np.abs(b)):.3g}); images differing by more than 1e-3: "
          f"{int(np.sum(diff.max(axis=1) > 1e-3))} of {batch}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--build", default="build")
    ap.add_argument("--data")
    ap.add_argument("--model", default="models/srcnn_x4_mse.safetensors")
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--work", default="/tmp/compare_infer")
    ap.add_argument("--timeout", type=int, default=1800)
    ap.add_argument("--upscale", metavar="IMAGE", help="time `srcnn upscale` of IMAGE instead of `srcnn eval`")
    ap.add_argument("--convae", type=int, metavar="N", help="the conv AE's reconstruction of N 96x96 images instead")
    ap.add_argument("--fcae", type=int, metavar="N", help="the FC binary AE's reconstruction of N 32x32 images instead")
    ap.add_argument("--elvae", type=int, metavar="N", help="the EL-VAE's reconstruction (posterior mode) of N 96x96 "
                    "images instead")
    ap.add_argument("--yaleb", type=int, metavar="N", help="the Yale B AE's reconstruction of N 48x48 images instead")
    ap.add_argument("--reps", type=int, default=3, help="autoencoders: timed batches per process (median)")
    ap.add_argument("--peak-fma", help="../shared/bench/roofline/peak_fma.c built: run once per round (2 threads)")
    ap.add_argument("--base-app", help="another build's perceptcl: its srcnn eval / upscale timed too (before/after)")
    ap.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--ae-worker", choices=sorted(AUTOENCODERS), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_worker:
        return torch_worker(args)
    if args.ae_worker:
        return ae_worker(args, args.ae_worker)
    kinds = [k for k in AUTOENCODERS if getattr(args, k)]
    if len(kinds) > 1:
        ap.error("one of --" + ", --".join(AUTOENCODERS) + " at a time")
    if kinds:
        return run_ae(args, kinds[0])
    return run_srcnn(args)


if __name__ == "__main__":
    sys.exit(main())
