#!/bin/sh
# Experiment 4 (issue 15): the Yale B autoencoders of Table 1, three losses x three seeds, their
# bottleneck features and the pixel baseline's, as reports/yaleb/README.md records.
#   train:    perceptcl yaleb train --loss L --seed S (Adam lr 1e-3, batch 32, early stopping with
#             patience 20 on the validation part of the seed's 60/20/20 split), at most EPOCHS epochs
#   features: perceptcl yaleb features --model (the 32 bottleneck units of every face)
#   baseline: perceptcl yaleb features --pixels --pca 32
# Rerunning continues every run where it stopped (--resume): a larger EPOCHS trains further, a run
# that early stopping ended stays ended. Feature files are rewritten from the current models.
# usage: sh tools/train-yaleb.sh CROPPED_YALE_DIR OUT_DIR [EPOCHS] [BUILD_DIR]
set -eu
usage="usage: sh tools/train-yaleb.sh CROPPED_YALE_DIR OUT_DIR [EPOCHS] [BUILD_DIR]"
data=${1:?$usage}
out=${2:?$usage}
epochs=${3:-300}
perceptcl=${4:-build}/apps/perceptcl
mkdir -p "$out"
[ -f "$out/pixels-pca32.csv" ] ||
  "$perceptcl" yaleb features --pixels --pca 32 --data "$data" --out "$out/pixels-pca32.csv"
for seed in 1 2 3; do
  for loss in mse mae msssim; do
    name=$loss-seed$seed
    resume=""
    [ -f "$out/$name.safetensors.train" ] && resume="--resume"
    "$perceptcl" yaleb train --data "$data" --loss "$loss" --seed "$seed" --epochs "$epochs" \
      --out "$out/$name.safetensors" --log "$out/$name.csv" --curve "$out/$name.svg" $resume
    "$perceptcl" yaleb features --model "$out/$name.safetensors" --data "$data" --out "$out/$name-features.csv"
  done
done
