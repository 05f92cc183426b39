#!/bin/sh
# Runs one test program on the Oclgrind simulator and fails when Oclgrind
# reports anything (its log must stay empty), whatever the program's own
# result. Usage: run.sh [OCLGRIND OPTIONS...] -- PROGRAM [ARGS...]
# Always on: --data-races --check-api. One worker thread: reports then come
# in a fixed order, and the 2-core CI machine gains nothing from more.
# Exit 77 (meson: skipped) when oclgrind is not installed.
command -v oclgrind >/dev/null 2>&1 || { echo "oclgrind not installed (tools/install-deps.sh)"; exit 77; }
opts=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    opts="$opts $1"
    shift
done
[ "$1" = "--" ] && shift
# A kernel cache of its own per option set (--build-options changes the
# compiled programs, which the cache key does not see).
tag=$(printf '%s' "$opts" | tr -c 'A-Za-z0-9' '_')
export PERCEPTCL_CACHE_DIR="${PERCEPTCL_CACHE_DIR:-${TMPDIR:-/tmp}}/oclgrind$tag"
log=$(mktemp "${TMPDIR:-/tmp}/oclgrind-log.XXXXXX") || exit 1
# shellcheck disable=SC2086 # opts is a list of words
OCLGRIND_NUM_THREADS=1 oclgrind --data-races --check-api $opts --log "$log" "$@"
rc=$?
if [ -s "$log" ]; then
    echo "---- Oclgrind reports (options:$opts); counts by kernel and line: ----"
    grep -E '^[A-Z]|Kernel:|At line' "$log" | sed 's/ address 0x[0-9a-f]*//' | paste - - - | sort | uniq -c | sort -rn
    echo "---- the first reports in full: ----"
    head -c 8000 "$log"
    rc=1
fi
rm -f "$log"
exit $rc
