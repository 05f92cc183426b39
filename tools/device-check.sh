#!/bin/sh
# A ready check of one OpenCL device, for a machine with a GPU driver (or any
# other device): lists the devices (`perceptcl devices`), runs the whole test
# suite on the chosen device, then the SSIM and training benchmarks, and,
# when PyTorch with a GPU (CUDA or ROCm) is importable, the same workloads in
# PyTorch on that GPU (tools/device_check_torch.py). Writes a short Markdown
# report. Meant to finish in under 8 minutes on a modern GPU.
# Usage: tools/device-check.sh [--device-type gpu|cpu|any] [--device D]
#                              [--build DIR] [--report FILE] [--suites "host opencl"]
#                              [--oclgrind]
#   --oclgrind: every program under the Oclgrind simulator (tests the
#   script itself on a machine without a GPU; benchmarks are skipped there).
#   --suites: the meson suites to run (default host and opencl, every test).
# Defaults: --device-type gpu, --build build-device-check (configured here),
# --report device-check-report.md. Exit status: that of the test suite.
set -u
cd "$(dirname "$0")/.."
type=gpu device="" build=build-device-check report=device-check-report.md wrap="" suites="host opencl"
while [ $# -gt 0 ]; do
    case "$1" in
    --device-type) type=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --report) report=$2; shift 2 ;;
    --suites) suites=$2; shift 2 ;;
    --oclgrind) wrap="oclgrind"; shift ;;
    *) echo "device-check: unknown argument $1" >&2; exit 2 ;;
    esac
done
export PERCEPTCL_DEVICE_TYPE="$type"
[ -n "$device" ] && export PERCEPTCL_DEVICE="$device"
if [ -n "$wrap" ]; then
    command -v oclgrind >/dev/null || { echo "device-check: oclgrind not installed" >&2; exit 2; }
    export PERCEPTCL_DEVICE_TYPE=any OCLGRIND_NUM_THREADS=1
fi
start=$(date +%s)
log=$(mktemp -d "${TMPDIR:-/tmp}/device-check.XXXXXX")
[ -d "$build" ] || meson setup "$build" -Dbuildtype=release >"$log/setup.txt" 2>&1 || { cat "$log/setup.txt"; exit 2; }
ninja -C "$build" >"$log/build.txt" 2>&1 || { tail -30 "$log/build.txt"; exit 2; }

echo "== devices"
$wrap "$build/apps/perceptcl" devices | tee "$log/devices.txt"
selected=$($wrap "$build/apps/perceptcl" devices 2>/dev/null | grep -- '<- selected' | sed 's/  */ /g')
[ -n "$selected" ] || { echo "device-check: no device of type $PERCEPTCL_DEVICE_TYPE" >&2; exit 2; }

# Under the simulator: the oclgrind suite (the full suites take hours there).
[ -n "$wrap" ] && suites=oclgrind
echo "== tests on the device (meson test, suites: $suites)"
set --
for s in $suites; do set -- "$@" --suite "$s"; done
meson test -C "$build" --setup oclgrind "$@" --print-errorlogs >"$log/tests.txt" 2>&1
tests_rc=$?
grep -E '^(Ok|Fail|Skipped|Timeout|Expected Fail|Unexpected Pass): ' "$log/tests.txt" | tee "$log/summary.txt"
[ $tests_rc -eq 0 ] || grep -E ' (FAIL|TIMEOUT) ' "$log/tests.txt"

bench=""
if [ -z "$wrap" ]; then
    echo "== benchmarks: perceptcl"
    "$build/bench/bench_ssim" w1 2>&1 | tail -1 | tee "$log/bench.txt"
    "$build/bench/bench_ssim" w2 2>&1 | tail -1 | tee -a "$log/bench.txt"
    "$build/bench/bench_train" --only W3a,W4b --reps 5 2>&1 | grep -E '^W[0-9]' | tee -a "$log/bench.txt"
    bench=1
    echo "== benchmarks: PyTorch on the GPU"
    torch_ref=../shared/bench/torch_ref
    if [ -d "$torch_ref" ] && python3 tools/device_check_torch.py --torch-ref "$torch_ref" >"$log/torch.txt" 2>"$log/torch.err"; then
        cat "$log/torch.txt"
    else
        echo "(skipped: $(tail -1 "$log/torch.err" 2>/dev/null || echo "no $torch_ref"))" | tee "$log/torch.txt"
    fi
fi

{
    echo "# Device check ($(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD 2>/dev/null))"
    echo
    echo "Device: $selected${wrap:+ (under Oclgrind)}"
    echo
    echo '```'
    cat "$log/devices.txt"
    echo '```'
    echo
    echo "## Tests: suites $suites (exit status $tests_rc)"
    echo
    echo '```'
    cat "$log/summary.txt"
    grep -E ' (FAIL|TIMEOUT) ' "$log/tests.txt"
    echo '```'
    if [ -n "$bench" ]; then
        echo
        echo "## Benchmarks (perceptcl, then PyTorch on the same GPU)"
        echo
        echo '```'
        cat "$log/bench.txt" "$log/torch.txt"
        echo '```'
    fi
    echo
    echo "Took $(( $(date +%s) - start )) s."
} >"$report"
echo "== report: $report"
rm -rf "$log"
exit $tests_rc
