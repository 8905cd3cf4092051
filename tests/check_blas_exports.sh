#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# libhpk_blas exports exactly the BLAS entry points it implements, sgemm_ and cblas_sgemm,
# unversioned (BLAS implementations are interchangeable: a program linked against libhpk_blas
# must run against another BLAS); it defines no error handler (xerbla_ and cblas_xerbla are weak
# undefined references, bound to the program's or its BLAS's handler, see blas/xerbla.c); and
# it is a thin shim on the shared libhpk (which it needs), not a second copy of hpk.
#
# Exit status: 0 pass, 1 mismatch, 77 skipped (no shared library in this build), 99 hard error.

set -u
: "${top_builddir:=.}" "${NM:=nm}" "${OBJDUMP:=objdump}"

lib="$top_builddir/.libs/libhpk_blas.so"
if [ ! -f "$lib" ]; then
    echo "SKIP: no shared libhpk_blas in this build (--disable-shared?)"
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hpk-blas-exports.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

if ! "$NM" -D "$lib" >"$tmp/nm.out"; then
    echo "ERROR: $NM -D failed on $lib" >&2
    exit 99
fi
status=0

# Defined dynamic symbols, absolute ones (version nodes) included: there must be none of those.
awk 'NF == 3 && $2 != "U" && $2 != "w" && $2 != "v" { print $3 }' "$tmp/nm.out" | sort -u \
    >"$tmp/exported"
printf '%s\n' cblas_sgemm sgemm_ >"$tmp/expected"
if ! cmp -s "$tmp/exported" "$tmp/expected"; then
    echo "FAIL: ${lib#"$top_builddir"/} must export exactly sgemm_ and cblas_sgemm; it exports:"
    sed 's/^/  /' "$tmp/exported"
    status=1
fi
if grep -q '@' "$tmp/exported"; then
    echo "FAIL: the BLAS symbols must not be versioned:"
    grep '@' "$tmp/exported" | sed 's/^/  /'
    status=1
fi

# The handlers: weak undefined ('w'), never defined here.
for h in xerbla_ cblas_xerbla; do
    kind=$(awk -v s="$h" '$NF == s { print $(NF-1) }' "$tmp/nm.out")
    if [ "$kind" != w ]; then
        echo "FAIL: $h must be a weak undefined reference of ${lib#"$top_builddir"/}," \
            "found '${kind:-nothing}'"
        status=1
    fi
done

# Thin: needs libhpk.so, defines no hpk_ symbol.
if command -v "${OBJDUMP%% *}" >/dev/null 2>&1; then
    if ! $OBJDUMP -p "$lib" | grep -qE 'NEEDED +libhpk\.so'; then
        echo "FAIL: ${lib#"$top_builddir"/} does not link the shared libhpk"
        status=1
    fi
fi
if awk '$(NF-1) != "U" && $NF ~ /^hpk_/' "$tmp/nm.out" | grep -q .; then
    echo "FAIL: ${lib#"$top_builddir"/} defines hpk symbols (a copy of libhpk?)"
    status=1
fi

if [ $status = 0 ]; then
    echo "PASS: ${lib#"$top_builddir"/} exports exactly:"
    sed 's/^/  /' "$tmp/exported"
    echo "  and refers, weakly, to xerbla_ and cblas_xerbla; it needs libhpk.so"
fi
exit $status
