#!/bin/sh
# The shared library's surface: every symbol `nm -D --defined-only` lists must
# be declared PCL_API in include/perceptcl/*.h, and every PCL_API declaration
# must be exported (a declaration without a definition, or a definition that
# does not see its header and so stays hidden, fails too). A public
# declaration without PCL_API fails as well.
#   test_exports.sh NM LIBRARY INCLUDE_DIR
# The declared name is the identifier before the first '(' of a PCL_API line
# (functions; each prototype starts on its PCL_API line), or the last
# identifier before ';' (data). Names beginning with '_' belong to the
# toolchain (sanitizer and linker symbols) and are not API; they are skipped.
set -eu
nm_tool=$1
library=$2
include_dir=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$nm_tool" -D --defined-only "$library" >"$tmp/nm" || { echo "$nm_tool -D failed on $library"; exit 1; }
awk 'NF >= 3 { print $3 }' "$tmp/nm" | sed 's/@.*//' | grep -v '^_' | sort -u >"$tmp/exported"

cat "$include_dir"/*.h >"$tmp/headers"
grep '^PCL_API ' "$tmp/headers" | sed -e 's/(.*//' -e 's/;.*//' -e 's/[[:space:]]*$//' \
    | sed 's/.*[^A-Za-z0-9_]//' | sort -u >"$tmp/declared"
# Declarations at column 0 without the mark: a prototype "type pcl_x(" or a
# data "extern ..." (static inline functions are compiled by the caller).
grep -E '^(extern [^"]|[A-Za-z_][A-Za-z0-9_ ]*[ *]pcl_[A-Za-z0-9_]*\()' "$tmp/headers" \
    | grep -Ev '^(PCL_API|typedef|static) ' >"$tmp/unmarked" || true

status=0
if [ "$(wc -l <"$tmp/exported")" -lt 10 ] || [ "$(wc -l <"$tmp/declared")" -lt 10 ]; then
    echo "too few names: $(wc -l <"$tmp/exported") exported, $(wc -l <"$tmp/declared") declared (parse failed?)"
    status=1
fi
comm -23 "$tmp/exported" "$tmp/declared" >"$tmp/extra"
comm -13 "$tmp/exported" "$tmp/declared" >"$tmp/missing"
if [ -s "$tmp/extra" ]; then
    echo "exported by $library but not declared PCL_API in $include_dir:"
    sed 's/^/  /' "$tmp/extra"
    status=1
fi
if [ -s "$tmp/missing" ]; then
    echo "declared PCL_API in $include_dir but not exported by $library:"
    sed 's/^/  /' "$tmp/missing"
    status=1
fi
if [ -s "$tmp/unmarked" ]; then
    echo "public declarations without PCL_API in $include_dir:"
    sed 's/^/  /' "$tmp/unmarked"
    status=1
fi
[ $status -eq 0 ] && echo "$(wc -l <"$tmp/exported") symbols exported, each declared PCL_API"
exit $status
