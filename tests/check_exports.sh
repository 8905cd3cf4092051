#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# The shared library exports exactly the public API: the dynamic symbols that .libs/libhpk.so
# defines must be the functions (and objects) that include/hpk/*.h declare with HPK_API, no more
# (a helper that lost its 'static' or escaped the version script) and no fewer (a declared
# function that was never defined or lost its HPK_API on the definition side).
#
# Exit status: 0 pass, 1 mismatch, 77 skipped (no shared library in this build), 99 hard error.

set -u
: "${top_builddir:=.}" "${top_srcdir:=.}" "${NM:=nm}" "${CC:=cc}"
: "${HPK_PUBLIC_HEADERS:=include/hpk/hpk.h include/hpk/common.h include/hpk/gemm.h include/hpk/threads.h include/hpk/inference.h include/hpk/graph.h}"

lib=
for f in "$top_builddir"/.libs/libhpk.so "$top_builddir"/.libs/libhpk.dylib; do
    [ -f "$f" ] && lib=$f && break
done
if [ -z "$lib" ]; then
    echo "SKIP: no shared library in this build (--disable-shared?)"
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hpk-exports.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

# Exported: defined dynamic symbols, without symbol versions and the version node (HPK_0, an
# absolute symbol).
if ! "$NM" -D --defined-only "$lib" >"$tmp/nm.out"; then
    echo "ERROR: $NM -D failed on $lib" >&2
    exit 99
fi
awk '$(NF-1) != "A" { print $NF }' "$tmp/nm.out" | sed 's/@.*$//' | sort -u >"$tmp/exported"

# Declared: each declaration that starts with HPK_API, read after the comments are stripped
# (-fpreprocessed: comments go, macros stay unexpanded) and preprocessor lines dropped. The name
# is the identifier before the first '(' (a function) or before ';', '[' or '=' (an object).
: >"$tmp/declared.raw"
for h in $HPK_PUBLIC_HEADERS; do
    if ! $CC -fpreprocessed -dD -E -P -x c "$top_srcdir/$h" >"$tmp/h.i" 2>"$tmp/cc.err"; then
        echo "ERROR: cannot read $h with $CC:" >&2
        cat "$tmp/cc.err" >&2
        exit 99
    fi
    grep -v '^[[:space:]]*#' "$tmp/h.i" | tr '\n' ' ' | sed 's/;/;\n/g' |
        sed -n 's/^.*\<HPK_API\>\(.*\)$/\1/p' |
        sed -e 's/(.*$//' -e 's/[;=[].*$//' |
        awk '{ name = $NF; sub(/^\**/, "", name); if (name ~ /^[A-Za-z_][A-Za-z0-9_]*$/) print name }' \
            >>"$tmp/declared.raw"
done
sort -u "$tmp/declared.raw" >"$tmp/declared"
if [ ! -s "$tmp/declared" ]; then
    echo "ERROR: found no HPK_API declaration in $HPK_PUBLIC_HEADERS" >&2
    exit 99
fi

comm -23 "$tmp/exported" "$tmp/declared" >"$tmp/extra"
comm -13 "$tmp/exported" "$tmp/declared" >"$tmp/missing"
status=0
if [ -s "$tmp/extra" ]; then
    echo "FAIL: exported by ${lib#"$top_builddir"/} but not declared HPK_API in a public header:"
    sed 's/^/  /' "$tmp/extra"
    status=1
fi
if [ -s "$tmp/missing" ]; then
    echo "FAIL: declared HPK_API but not exported by ${lib#"$top_builddir"/}:"
    sed 's/^/  /' "$tmp/missing"
    status=1
fi
if [ "$status" = 0 ]; then
    echo "PASS: ${lib#"$top_builddir"/} exports exactly the $(wc -l <"$tmp/declared") HPK_API symbols:"
    sed 's/^/  /' "$tmp/exported"
fi
exit $status
