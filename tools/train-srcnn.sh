#!/bin/sh
# Trains the three SRCNN 9-5-5 x4 models that ship in models/ (MSE, MAE, MS-SSIM) on T91,
# the way models/README.md records: Adam from He-normal weights, 40 epochs at lr 1e-3, then
# 10 epochs at 1e-4 starting from those weights. Every run is resumable: rerunning this
# script continues where it stopped (--resume on each phase's .train state).
# usage: sh tools/train-srcnn.sh T91_DIR OUT_DIR [BUILD_DIR]
set -eu
train=${1:?usage: sh tools/train-srcnn.sh T91_DIR OUT_DIR [BUILD_DIR]}
out=${2:?usage: sh tools/train-srcnn.sh T91_DIR OUT_DIR [BUILD_DIR]}
perceptcl=${3:-build}/apps/perceptcl
mkdir -p "$out"
for loss in mse msssim mae; do
  for phase in 1 2; do
    model="$out/srcnn_x4_${loss}_phase$phase.safetensors"
    [ -f "$model" ] && continue
    if [ $phase = 1 ]; then args="--weight-init he --lr 1e-3 --epochs 40"
    else args="--init $out/srcnn_x4_${loss}_phase1.safetensors --lr 1e-4 --epochs 10"; fi
    resume=""
    [ -f "$model.train" ] && resume="--resume"
    # shellcheck disable=SC2086
    "$perceptcl" srcnn train --loss "$loss" --scale 4 --train "$train" --optimizer adam --batch 128 \
      --seed 1 $args --out "$model" --log "$out/${loss}_phase$phase.csv" --curve "$out/${loss}_phase$phase.svg" $resume
  done
  cp "$out/srcnn_x4_${loss}_phase2.safetensors" "$out/srcnn_x4_${loss}.safetensors"
done
