#!/bin/sh
# The study kit's worked example (README, "Human-judgment studies"): a 2AFC study
# of the shipped SRCNN x4 models, MS-SSIM against MSE, on crops of Set5.
#   sh tools/srcnn-study-example.sh [OUT]      (default out/srcnn-study; needs a built perceptcl)
# For each image of data/Set5: the original (cropped to a multiple of 4), its
# x1/4 bicubic downscale (perceptcl resize, MATLAB's imresize), and that upscaled
# x4 by each model (perceptcl srcnn upscale: network Y, bicubic Cb/Cr). Then the
# items manifest (perceptcl study items pairs them by file name) and the study
# folder (perceptcl study make): 64x64 crops where the original is busiest, shown
# 4x, 2 catch trials. Open OUT/study/index.html in a browser.
set -eu
perceptcl=${PERCEPTCL:-build/apps/perceptcl}
out=${1:-out/srcnn-study}
[ -e "$out/study" ] && { echo "srcnn-study-example: $out/study exists; remove it or name another folder" >&2; exit 1; }
mkdir -p "$out/original" "$out/low" "$out/mse" "$out/msssim"
for image in data/Set5/*.png; do
  name=$(basename "$image")
  "$perceptcl" resize --scale 1 --modcrop 4 "$image" "$out/original/$name"
  "$perceptcl" resize --scale 0.25 "$out/original/$name" "$out/low/$name"
  "$perceptcl" srcnn upscale --model models/srcnn_x4_mse.safetensors "$out/low/$name" "$out/mse/$name"
  "$perceptcl" srcnn upscale --model models/srcnn_x4_msssim.safetensors "$out/low/$name" "$out/msssim/$name"
done
"$perceptcl" study items --original "$out/original" --method MS-SSIM="$out/msssim" --method MSE="$out/mse" \
  --out "$out/items.json"
"$perceptcl" study make --items "$out/items.json" --out "$out/study" --mode 2afc --crop 64 --zoom 4 --catch 2 \
  --title "Which super-resolved image is closer to the original?"
echo "open $out/study/index.html in a browser; then: $perceptcl study analyze --study $out/study RESULTS.json..."
