#!/bin/sh
# Experiment 2 (Snell et al. 2017, sec. 3.1, app. A.2, Table 3): the three 96x96 convolutional
# autoencoders (128-unit bottleneck), trained with MSE, MAE and 1 - MS-SSIM (the paper's equal
# exponents), the same recipe for all three: Adam lr 1e-4 (betas 0.9, 0.999), batch 64, seed 1,
# PyTorch's default initialisation, early stopping on the validation loss (patience 5 epochs,
# at most 100). Then Table 3 beside the paper's with the per-image win counts, Figure 4's grid and
# the study kit's items (64 seeded test images).
# DATA_DIR with stl10_binary/ complete: the paper's protocol; otherwise the substitute (BSD200 +
# T91 windows, BSD100 windows for validation, the 256 real STL-10 images for test), e.g.
# DATA_DIR = ../shared/datasets. `perceptcl convae --help` has the details.
# Rerunning continues where a run stopped (--resume; the state is also saved every 10 minutes
# within an epoch and on Ctrl-C / SIGTERM) and skips finished models.
# Cost on the 2-core Xeon development VM, with the sub-pixel decoder: 10.8 images/s per training
# step when the machine is quiet (bench W4a, bench/RESULTS.md), i.e. ~31 minutes per 20,000-window
# epoch of the substitute; the first MSE epoch took 48 minutes beside other work (7.0 images/s,
# 2026-12-06). EPOCHS caps each net's training (default 100: early stopping decides); the run
# for reports/convae/ uses 6 per net (~3 hours each on a quiet VM), what fits this VM's sessions.
# usage: sh tools/train-convae.sh DATA_DIR OUT_DIR [BUILD_DIR] [EPOCHS]
set -eu
usage="usage: sh tools/train-convae.sh DATA_DIR OUT_DIR [BUILD_DIR] [EPOCHS]"
data=${1:?$usage}
out=${2:?$usage}
perceptcl=${3:-build}/apps/perceptcl
epochs=${4:-100}
mkdir -p "$out"
# train LOSS: one resumable run writing $out/LOSS.safetensors, LOSS.csv, LOSS.svg
train() {
  loss=$1
  [ -f "$out/$loss.safetensors" ] && return 0
  resume=""
  [ -f "$out/$loss.safetensors.train" ] && resume="--resume"
  nice "$perceptcl" convae train --loss "$loss" --data "$data" --seed 1 --batch 64 --lr 1e-4 \
    --epochs "$epochs" --patience 5 --out "$out/$loss.safetensors" --log "$out/$loss.csv" --curve "$out/$loss.svg" \
    $resume
}
train mse
train mae
train msssim
if [ ! -f "$out/table3.md" ]; then
  rm -rf "$out/study" "$out/study.partial"
  "$perceptcl" convae eval --model "$out/mse.safetensors" --model "$out/mae.safetensors" \
    --model "$out/msssim.safetensors" --data "$data" --seed 1 --report "$out/table3" --grid "$out/figure4.png" \
    --study "$out/study" --study-count 64 >/dev/null
fi
echo "Table 3: $out/table3.md; Figure 4: $out/figure4.png; study items: $out/study/items.json"
