#!/bin/sh
# Installs what perceptcl needs to build and test on Debian 12 / Ubuntu 22.04+:
# compiler, meson, the OpenCL ICD loader and headers, PoCL (OpenCL on the CPU,
# so everything runs without a GPU), CLBlast, libjpeg-turbo, libpng, jansson, Check,
# libsvm (the SVMs of perceptcl yaleb), Oclgrind (the simulator the oclgrind test suite runs kernels on)
# and Open MPI (training and evaluation over several devices under mpirun; the mpi test suite).
# For the tests only: chromium, chromium-driver and python3-selenium drive the
# study page (perceptcl study make) in a headless browser (tests/study_browser.py);
# when they cannot be installed, that one test skips and says why.
set -eu
packages="build-essential meson ninja-build pkg-config ocl-icd-opencl-dev opencl-c-headers
  pocl-opencl-icd libclblast-dev libjpeg-dev libpng-dev libjansson-dev check
  oclgrind libsvm-dev libopenmpi-dev openmpi-bin"
test_packages="chromium chromium-driver python3-selenium"
missing=""
missing_test=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
for p in $test_packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing_test="$missing_test $p"
done
[ -z "$missing$missing_test" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
if [ -n "$missing" ]; then
  echo "installing:$missing"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
if [ -n "$missing_test" ]; then
  echo "installing (browser test only):$missing_test"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing_test ||
    echo "install-deps: could not install$missing_test: the browser test (study_browser) will be skipped"
fi
