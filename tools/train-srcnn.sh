#!/bin/sh
# Trains the three SRCNN 9-5-5 x4 models that ship in models/ on T91, exactly as
# models/README.md records (same seed and device kind: the same weights, bit for bit).
#   warm-up:  MSE, Adam lr 1e-3 from He-normal weights, 40 epochs (shared by all three)
#   MSE:      warm-up + 10 epochs MSE at lr 1e-4
#   MAE:      warm-up + 10 epochs MAE at lr 1e-4
#   MS-SSIM:  the MSE model + 2 epochs MS-SSIM at lr 1e-5 (length chosen on BSD100; longer
#             MS-SSIM training drifts the brightness and costs PSNR: models/README.md)
# Rerunning continues where a run stopped (--resume) and skips finished models.
# usage: sh tools/train-srcnn.sh T91_DIR OUT_DIR [BUILD_DIR]
set -eu
usage="usage: sh tools/train-srcnn.sh T91_DIR OUT_DIR [BUILD_DIR]"
train=${1:?$usage}
out=${2:?$usage}
perceptcl=${3:-build}/apps/perceptcl
mkdir -p "$out"
# train LOSS NAME ARGS...: one resumable run writing $out/NAME.safetensors, NAME.csv, NAME.svg
train() {
  loss=$1 name=$2
  shift 2
  [ -f "$out/$name.safetensors" ] && return 0
  resume=""
  [ -f "$out/$name.safetensors.train" ] && resume="--resume"
  "$perceptcl" srcnn train --loss "$loss" --scale 4 --train "$train" --optimizer adam --batch 128 --seed 1 \
    --out "$out/$name.safetensors" --log "$out/$name.csv" --curve "$out/$name.svg" $resume "$@"
}
train mse warmup_mse --weight-init he --lr 1e-3 --epochs 40
train mse srcnn_x4_mse --init "$out/warmup_mse.safetensors" --lr 1e-4 --epochs 10
train mae srcnn_x4_mae --init "$out/warmup_mse.safetensors" --lr 1e-4 --epochs 10
train msssim srcnn_x4_msssim --init "$out/srcnn_x4_mse.safetensors" --lr 1e-5 --epochs 2
