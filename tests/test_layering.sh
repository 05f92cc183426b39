#!/bin/sh
# The library's files call each other one way only (README: Layout):
# - no file reaches itself again through calls into other files (no dependency
#   loops such as image.c <-> the codecs or datasets/binary.c <-> dataset.c);
# - a file calls only into its own folder or the folders below it, in this
#   order, lowest first:
#       runtime parallel metrics nn io image datasets train experiments
# The call graph is read from the static library's objects: object A depends
# on object B when A leaves undefined a global symbol that B defines.
#   test_layering.sh NM LIBRARY.a
set -eu
nm_tool=$1
archive=$2
"$nm_tool" -A "$archive" 2>/dev/null | awk '
function folder(member,   f) {
    if (member ~ /^\.\._datasets_/) return "datasets"
    if (member ~ /kernels_embedded_kernels/) return "runtime"  # the embedded kernel sources
    f = member; sub(/_.*/, "", f); return f
}
function file(member,   f) {
    f = member; sub(/\.c\.o$/, "", f)
    if (f ~ /^\.\._datasets_/) { sub(/^\.\._datasets_/, "", f); return "datasets/" f }
    if (f ~ /kernels_embedded_kernels/) return "kernels/embedded_kernels"
    sub(/_/, "/", f); return f
}
BEGIN {
    n = split("runtime parallel metrics nn io image datasets train experiments", order, " ")
    for (i = 1; i <= n; i++) rank[order[i]] = i
}
{
    # archive:member:value type name   or   archive:member:   U name
    line = $0
    sub(/^[^:]*:/, "", line)
    member = line; sub(/:.*/, "", member)
    rest = line; sub(/^[^:]*:/, "", rest)
    k = split(rest, w, " ")
    if (k == 2 && w[1] == "U") { used[member, w[2]] = 1; members[member] = 1 }
    else if (k == 3 && w[2] ~ /^[TDRBCGSV]$/) { owner[w[3]] = member; members[member] = 1 }
}
END {
    status = 0
    for (key in used) {
        split(key, p, SUBSEP); a = p[1]; s = p[2]
        if (!(s in owner) || owner[s] == a) continue
        b = owner[s]
        if (!((a, b) in edge)) edge[a, b] = s; else if (edge[a, b] > s) edge[a, b] = s
    }
    m = 0
    for (x in members) { m++; node[m] = x; id[x] = m }
    for (key in edge) {
        split(key, p, SUBSEP); a = p[1]; b = p[2]
        reach[id[a], id[b]] = 1
        fa = folder(a); fb = folder(b)
        if (!(fa in rank) || !(fb in rank)) {
            printf "unknown folder of %s or %s: add it to the order\n", file(a), file(b); status = 1
        } else if (rank[fb] > rank[fa]) {
            printf "upward call: %s -> %s (%s); %s is above %s\n", file(a), file(b), edge[a, b], fb, fa
            status = 1
        }
    }
    for (k2 = 1; k2 <= m; k2++)
        for (i = 1; i <= m; i++)
            if ((i, k2) in reach)
                for (j = 1; j <= m; j++)
                    if ((k2, j) in reach) reach[i, j] = 1
    for (i = 1; i <= m; i++)
        for (j = i + 1; j <= m; j++)
            if ((i, j) in reach && (j, i) in reach) {
                printf "dependency loop: %s and %s reach each other", file(node[i]), file(node[j])
                if ((node[i], node[j]) in edge) printf "; %s -> %s (%s)", file(node[i]), file(node[j]), edge[node[i], node[j]]
                if ((node[j], node[i]) in edge) printf "; %s -> %s (%s)", file(node[j]), file(node[i]), edge[node[j], node[i]]
                printf "\n"
                status = 1
            }
    if (m < 10) { printf "only %d objects read from the archive (nm failed?)\n", m; status = 1 }
    if (status == 0) printf "%d objects, %d calls between them: no loop, none upward\n", m, length(edge)
    exit status
}'
