#!/bin/sh
# Installs what perceptcl needs to build and test on Debian 12 / Ubuntu 22.04+:
# compiler, meson, the OpenCL ICD loader and headers, PoCL (OpenCL on the CPU,
# so everything runs without a GPU), CLBlast, libjpeg-turbo, libpng, Check,
# and Oclgrind (the simulator the oclgrind test suite runs kernels on).
set -eu
packages="build-essential meson ninja-build pkg-config ocl-icd-opencl-dev opencl-c-headers
  pocl-opencl-icd libclblast-dev libjpeg-dev libpng-dev check
  oclgrind"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
