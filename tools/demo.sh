#!/bin/sh
# The main job on the data that ships with the project (data/Set5): the bicubic
# x4 baseline of the super-resolution protocol, scored on the Y channel with
# SSIM (Wang's valid mode) and MS-SSIM (same mode, standard and the paper's
# equal exponents), with an SSIM map per image. Writes OUT/report.md.
# Usage: sh tools/demo.sh [OUT]   (PERCEPTCL=path/to/perceptcl to override)
set -eu
perceptcl=${PERCEPTCL:-build/apps/perceptcl}
out=${1:-out/demo}
mkdir -p "$out"
report="$out/report.md"
tmp="$report.tmp"
"$perceptcl" devices
{
  echo "# Bicubic x4 on Set5, Y channel (BT.601), data range 255"
  echo
  echo "| image | SSIM (valid) | MS-SSIM standard (same) | MS-SSIM equal (same) | SSIM map |"
  echo "|---|---|---|---|---|"
} > "$tmp"
for hr_file in data/Set5/*.png; do
  name=$(basename "$hr_file" .png)
  "$perceptcl" resize --modcrop 4 --scale 1 "$hr_file" "$out/$name-hr.png"
  "$perceptcl" resize --scale 0.25 "$out/$name-hr.png" "$out/$name-lr.png"
  "$perceptcl" resize --scale 4 "$out/$name-lr.png" "$out/$name-bicubic.png"
  ssim=$("$perceptcl" ssim --y --map "$out/$name-ssim-map.png" "$out/$name-hr.png" "$out/$name-bicubic.png" 2>/dev/null | awk '{print $2}')
  ms_std=$("$perceptcl" ssim --y --msssim --mode same "$out/$name-hr.png" "$out/$name-bicubic.png" 2>/dev/null | awk '{print $2}')
  ms_eq=$("$perceptcl" ssim --y --msssim --mode same --weights equal "$out/$name-hr.png" "$out/$name-bicubic.png" 2>/dev/null | awk '{print $2}')
  echo "| $name | $ssim | $ms_std | $ms_eq | $name-ssim-map.png |" >> "$tmp"
done
mv "$tmp" "$report"
cat "$report"
