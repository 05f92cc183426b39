#!/bin/sh
# The main job on the data that ships with the project: the three SRCNN 9-5-5 x4 models
# that ship in models/ (trained on T91 with MSE, MAE and MS-SSIM losses) evaluated on
# data/Set5 with the SRCNN protocol (PSNR and SSIM on Y, shaved), beside bicubic and the
# paper's Table 2; then, per image, a Figure-8-like strip of crops (bicubic, MSE, MAE,
# MS-SSIM, original). Writes OUT/report.md, OUT/table2.md, OUT/table2.json and
# OUT/compare-*.png (default OUT: out/demo). PERCEPTCL=path overrides the binary.
set -eu
perceptcl=${PERCEPTCL:-build/apps/perceptcl}
out=${1:-out/demo}
models="--model models/srcnn_x4_mse.safetensors --model models/srcnn_x4_mae.safetensors
        --model models/srcnn_x4_msssim.safetensors"
mkdir -p "$out"
report="$out/report.md"
tmp="$report.tmp"
"$perceptcl" devices
# shellcheck disable=SC2086
"$perceptcl" srcnn eval $models --scale 4 --report "$out/table2" data/Set5 > /dev/null
{
  cat "$out/table2.md"
  echo
  echo "## Crops (left to right: bicubic, MSE, MAE, MS-SSIM, original; PSNR / SSIM of the crop on Y)"
  echo
} > "$tmp"
for image in data/Set5/*.png; do
  name=$(basename "$image" .png)
  {
    echo "### $name: compare-$name.png"
    echo
    # shellcheck disable=SC2086
    "$perceptcl" srcnn compare $models --scale 4 "$image" "$out/compare-$name.png" 2>/dev/null
    echo
  } >> "$tmp"
done
mv "$tmp" "$report"
cat "$report"
