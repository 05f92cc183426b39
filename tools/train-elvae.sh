#!/bin/sh
# Experiment 3 (Snell et al. 2017, sec. 4, app. B, Figures 6 and 7): the expected-loss VAE,
# L = C * Delta(x, f(z)) / D_bar + KL, for Delta = MSE, MAE and 1 - MS-SSIM (equal exponents).
#   1. The C grid: for each loss and C in {1, 10, 1000, 10000}, one EL-VAE on a 5,000-image
#      subset (the paper's; seed 1), Adam lr 1e-4, batch 64, early stopping (patience 5).
#   2. perceptcl elvae select per loss: 1,000 prior samples per model against 1,000 training
#      images (pixels), the C with the smallest MMD^2, the others tested against it.
#   3. The chosen C retrained on the full training set.
#   4. Figure 6 (reconstructions, posterior mode: original | MS-SSIM | MSE | MAE) with the study
#      kit's items (64 seeded test images, 3-way ranking) and Figure 7 (8x8 prior samples per loss).
# DATA_DIR with stl10_binary/ complete: the paper's protocol (STL-10 unlabeled; validation on the
# labelled train images); otherwise the substitute (BSD200 + T91 windows, BSD100 windows for
# validation, the 256 real STL-10 images for test; there --subset keeps all 300 images and the
# grid runs differ from the final ones only by SELECT_EPOCHS / SELECT_EPOCH_SIZE).
# Scaled for a 2-core machine (state it with the results): SELECT_EPOCH_SIZE records per epoch
# (default 5,000: one pass over the subset) and at most SELECT_EPOCHS epochs (default 20) for the
# 12 grid runs; FINAL_EPOCHS (default 100) for the three final runs. Rerunning continues where a
# run stopped (--resume; the state is also saved every 10 minutes within an epoch and on Ctrl-C /
# SIGTERM) and skips finished steps. Seeds: 1 everywhere.
# FINAL_EPOCH_SIZE (default: the app's, 20,000 substitute windows) records per final epoch.
# Cost on the 2-core Xeon development VM (measured 2026-12-07 in the run of reports/elvae, batch
# 64): 9-17 images/s per training step (the VM's speed varied), i.e. 5-9 min per 5,000-record
# epoch, 2-3 h per grid run of 20 epochs, 20-36 h for the 12; 20-35 min per 20,000-window epoch
# of the final runs; the loss normaliser D_bar (10,000 pairs, ~2 min for MS-SSIM) is computed
# once per loss, by its first grid run, and shared by the loss's other runs and every --resume
# through OUT_DIR/norm-LOSS.json (--norm-file); early stopping decides the number of epochs.
# A model file is ~146 MB (36.6 M parameters): keep them out of git.
# usage: sh tools/train-elvae.sh DATA_DIR OUT_DIR [BUILD_DIR]
set -eu
usage="usage: sh tools/train-elvae.sh DATA_DIR OUT_DIR [BUILD_DIR]"
data=${1:?$usage}
out=${2:?$usage}
perceptcl=${3:-build}/apps/perceptcl
select_epochs=${SELECT_EPOCHS:-20}
select_epoch_size=${SELECT_EPOCH_SIZE:-5000}
final_epochs=${FINAL_EPOCHS:-100}
final_epoch_size=${FINAL_EPOCH_SIZE:-} # empty: the app's default epoch
mkdir -p "$out/grid"
# train NAME LOSS C EPOCHS [FLAGS...]: one resumable run writing $out/NAME.safetensors, .csv, .svg
# and the objective's two terms per epoch, NAME-terms.csv and .svg
train() {
  name=$1 loss=$2 c=$3 epochs=$4
  shift 4
  [ -f "$out/$name.safetensors" ] && return 0
  resume=""
  [ -f "$out/$name.safetensors.train" ] && resume="--resume"
  nice "$perceptcl" elvae train --loss "$loss" --c "$c" --data "$data" --seed 1 --batch 64 --lr 1e-4 \
    --epochs "$epochs" --patience 5 --out "$out/$name.safetensors" --log "$out/$name.csv" \
    --curve "$out/$name.svg" --terms "$out/$name-terms.csv" --terms-curve "$out/$name-terms.svg" \
    --norm-file "$out/norm-$loss.json" "$@" $resume
}
for loss in mse mae msssim; do
  for c in 1 10 1000 10000; do
    train "grid/$loss-c$c" "$loss" "$c" "$select_epochs" --subset 5000 --epoch-size "$select_epoch_size"
  done
  if [ ! -f "$out/select-$loss.md" ]; then
    "$perceptcl" elvae select --model "$out/grid/$loss-c1.safetensors" --model "$out/grid/$loss-c10.safetensors" \
      --model "$out/grid/$loss-c1000.safetensors" --model "$out/grid/$loss-c10000.safetensors" --data "$data" \
      --samples 1000 --seed 1 --report "$out/select-$loss" >/dev/null
  fi
  chosen=$(sed -n 's/^Chosen: C = \(.*\)\.$/\1/p' "$out/select-$loss.md")
  train "$loss" "$loss" "$chosen" "$final_epochs" ${final_epoch_size:+--epoch-size "$final_epoch_size"}
  [ -f "$out/samples-$loss.png" ] ||
    "$perceptcl" elvae sample --model "$out/$loss.safetensors" --count 64 --seed 1 --out "$out/samples-$loss.png"
done
if [ ! -f "$out/figure6.png" ]; then
  rm -rf "$out/study" "$out/study.partial"
  "$perceptcl" elvae reconstruct --model "$out/msssim.safetensors" --model "$out/mse.safetensors" \
    --model "$out/mae.safetensors" --data "$data" --count 8 --seed 1 --study "$out/study" --study-count 64 \
    "$out/figure6.png"
fi
echo "C selection: $out/select-{mse,mae,msssim}.md; Figure 6: $out/figure6.png;" \
  "Figure 7: $out/samples-{msssim,mse,mae}.png; study items: $out/study/items.json"
