#!/bin/sh
# Experiment 1 (Snell et al. 2017, sec. 3.1, app. A.1, A.3): the fully-connected autoencoder with a
# 256-bit binary code on 32x32 grayscale, trained once with MSE and once with SSIM (one scale, valid
# mode, L = 2): SGD momentum 0.9, weight decay 5e-5, batch 64, seed 1, He-normal initialisation,
# lr 2.5e-2 (MSE: the paper's 5e-5 in Caffe's summed-and-halved convention, x512 for our per-pixel
# mean) and 5e-2 (SSIM), early stopping when an epoch does not improve the validation loss (the best
# weights kept; at most EPOCHS epochs). Then the per-image win rates beside the paper's 97.33% and
# 69.71% with Wilson 95% intervals, Figure 3 (MSE | original | SSIM for the 8 queries where the SSIM
# net gains most and the 8 where it gains least) and the study kit's items (64 seeded queries).
# DATA_DIR with tiny_images.bin and cifar-10-batches-bin/: the paper's protocol (2,033,386 Tiny
# Images per epoch; CIFAR-10's 60,000 split 48,000 / 12,000, seed 2017); otherwise the substitute
# (200,000 seeded 32..256-pixel windows per epoch of BSD200, T91, 246 STL-10 and 200 CIFAR-10 PNGs;
# the CIFAR-10 test copy split 8,000 validation / 2,000 queries), e.g. DATA_DIR = ../shared/datasets.
# `perceptcl fcae --help` has the details.
# Rerunning continues where a run stopped (--resume; the state is also saved every 10 minutes
# within an epoch and on Ctrl-C / SIGTERM) and skips finished models.
# Cost on the 2-core Xeon development VM: 135 images/s per training step when the machine is quiet
# (bench_train --only W5a, 2026-12-06 23:35); the run of reports/fcae (EPOCHS = 2, 2026-12-07)
# trained at 100-114 images/s with its window drawing, ~32 minutes per 200,000-window epoch with
# validation (~5 hours per Tiny Images epoch). EPOCHS caps each net's training (default 100:
# early stopping decides).
# usage: sh tools/train-fcae.sh DATA_DIR OUT_DIR [BUILD_DIR] [EPOCHS]
set -eu
usage="usage: sh tools/train-fcae.sh DATA_DIR OUT_DIR [BUILD_DIR] [EPOCHS]"
data=${1:?$usage}
out=${2:?$usage}
perceptcl=${3:-build}/apps/perceptcl
epochs=${4:-100}
mkdir -p "$out"
# train LOSS LR: one resumable run writing $out/LOSS.safetensors, LOSS.csv, LOSS.svg
train() {
  loss=$1
  [ -f "$out/$loss.safetensors" ] && return 0
  resume=""
  [ -f "$out/$loss.safetensors.train" ] && resume="--resume"
  nice "$perceptcl" fcae train --loss "$loss" --lr "$2" --data "$data" --seed 1 --batch 64 --momentum 0.9 \
    --weight-decay 5e-5 --epochs "$epochs" --patience 1 --out "$out/$loss.safetensors" --log "$out/$loss.csv" \
    --curve "$out/$loss.svg" $resume
}
train mse 2.5e-2
train ssim 5e-2
if [ ! -f "$out/wins.md" ]; then
  rm -rf "$out/study" "$out/study.partial"
  "$perceptcl" fcae eval --model "$out/mse.safetensors" --model "$out/ssim.safetensors" --data "$data" --seed 1 \
    --report "$out/wins" --grid "$out/figure3.png" --study "$out/study" --study-count 64 >/dev/null
fi
echo "wins: $out/wins.md; Figure 3: $out/figure3.png; study items: $out/study/items.json"
