#!/bin/sh
# Experiment 4 (issue 15): the Yale B autoencoders of Table 1, three losses x three seeds, their
# bottleneck features and the pixel baseline's, the classifier stage and the report, as
# reports/yaleb/README.md records.
#   train:    perceptcl yaleb train --loss L --seed S (Adam lr 1e-3, batch 32, early stopping with
#             patience 20 on the validation part of the seed's 60/20/20 split), at most EPOCHS epochs
#   features: perceptcl yaleb features --model (the 32 bottleneck units of every face)
#   baseline: perceptcl yaleb features --pixels --pca 32
#   Table 1:  perceptcl yaleb svm per feature file and seed (split seed = training seed), then
#             perceptcl yaleb table over the seeds; perceptcl yaleb plot and reconstruct for seed 1
# Rerunning continues every run where it stopped (--resume): a larger EPOCHS trains further, a run
# that early stopping ended stays ended. A feature file newer than its classifier report is
# scored again. OUT_DIR ends up holding the report; the models (*.safetensors*) stay out of git.
# usage: sh tools/train-yaleb.sh CROPPED_YALE_DIR OUT_DIR [EPOCHS] [BUILD_DIR]
set -eu
usage="usage: sh tools/train-yaleb.sh CROPPED_YALE_DIR OUT_DIR [EPOCHS] [BUILD_DIR]"
data=$(cd "${1:?$usage}" && pwd)
out=${2:?$usage}
epochs=${3:-300}
perceptcl=$(cd "${4:-build}" && pwd)/apps/perceptcl
mkdir -p "$out"
cd "$out"
[ -f pixels-pca32.csv ] || "$perceptcl" yaleb features --pixels --pca 32 --data "$data" --out pixels-pca32.csv
for seed in 1 2 3; do
  for loss in mse mae msssim; do
    name=$loss-seed$seed
    resume=""
    [ -f "$name.safetensors.train" ] && resume="--resume"
    "$perceptcl" yaleb train --data "$data" --loss "$loss" --seed "$seed" --epochs "$epochs" \
      --out "$name.safetensors" --log "$name.csv" --curve "$name.svg" $resume
    "$perceptcl" yaleb features --model "$name.safetensors" --data "$data" --out "$name-features.csv"
  done
done

# svm FEATURES SEED REPORT: the classifier stage, again when the features changed since.
svm() {
  if [ ! -f "$3.json" ] || [ "$1" -nt "$3.json" ]; then
    "$perceptcl" yaleb svm "$1" --split-seed "$2" --report "$3" > /dev/null
  fi
}
reports=""
for seed in 1 2 3; do
  svm pixels-pca32.csv "$seed" "pixels-pca32-seed$seed-svm"
  reports="$reports pixels=pixels-pca32-seed$seed-svm.json"
  for loss in mse mae msssim; do
    svm "$loss-seed$seed-features.csv" "$seed" "$loss-seed$seed-svm"
    reports="$reports $loss=$loss-seed$seed-svm.json"
  done
done
"$perceptcl" yaleb table $reports --report table1 > /dev/null
"$perceptcl" yaleb plot pixels=pixels-pca32.csv mse=mse-seed1-features.csv mae=mae-seed1-features.csv \
  msssim=msssim-seed1-features.csv --out embedding-seed1.svg
"$perceptcl" yaleb reconstruct --model mse-seed1.safetensors --model mae-seed1.safetensors \
  --model msssim-seed1.safetensors --data "$data" --out reconstructions-seed1.png --report reconstructions-seed1 \
  > /dev/null
