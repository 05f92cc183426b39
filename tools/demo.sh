#!/bin/sh
# The main job on the data that ships with the project (data/Set5): the bicubic
# x4 baseline of the super-resolution protocol (SRCNN's: PSNR and SSIM on the Y
# channel, shaved), beside the paper's Table 2; then, per image, the bicubic
# picture, its SSIM and MS-SSIM against the original, and its SSIM map.
# Writes OUT/report.md (default out/demo). PERCEPTCL=path overrides the binary.
set -eu
perceptcl=${PERCEPTCL:-build/apps/perceptcl}
out=${1:-out/demo}
mkdir -p "$out"
report="$out/report.md"
tmp="$report.tmp"
"$perceptcl" devices
{
  echo "# Bicubic x4 on Set5 (SRCNN protocol, Y channel)"
  echo
  "$perceptcl" sr-eval --scale 4 data/Set5
  echo
  echo "## Per image (Y channel, unshaved, L = 255)"
  echo
  echo "| image | SSIM (valid) | MS-SSIM standard (same) | MS-SSIM equal (same) | bicubic | SSIM map |"
  echo "|---|---|---|---|---|---|"
} > "$tmp"
for hr_file in data/Set5/*.png; do
  name=$(basename "$hr_file" .png)
  "$perceptcl" resize --modcrop 4 --scale 1 "$hr_file" "$out/$name-hr.png"
  "$perceptcl" resize --scale 0.25 "$out/$name-hr.png" "$out/$name-lr.png"
  "$perceptcl" resize --scale 4 "$out/$name-lr.png" "$out/$name-bicubic.png"
  ssim=$("$perceptcl" ssim --y --map "$out/$name-ssim-map.png" "$out/$name-hr.png" "$out/$name-bicubic.png" 2>/dev/null | awk '{print $2}')
  ms_std=$("$perceptcl" ssim --y --msssim --mode same "$out/$name-hr.png" "$out/$name-bicubic.png" 2>/dev/null | awk '{print $2}')
  ms_eq=$("$perceptcl" ssim --y --msssim --mode same --weights equal "$out/$name-hr.png" "$out/$name-bicubic.png" 2>/dev/null | awk '{print $2}')
  echo "| $name | $ssim | $ms_std | $ms_eq | $name-bicubic.png | $name-ssim-map.png |" >> "$tmp"
done
mv "$tmp" "$report"
cat "$report"
