#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# A real client: numpy's float32 matmul (Debian's python3-numpy calls cblas_sgemm of the system
# BLAS) on random matrices of several shapes and storage orders, once as it is and once with
# libhpk_blas preloaded. HPK_VERBOSE=1 must show that hpk computed every product (libhpk's
# decisions, and libhpk_blas's count of cblas_sgemm calls computed by hpk), the run without
# the preload must show no trace of hpk, and both sets of products must be within the GEMM
# error bound of a float64 reference (tests/blas/numpy_matmul.py).
#
# The Python: $HPK_PYTHON, else /usr/bin/python3 (Debian's, where python3-numpy lives), else
# python3 on the PATH; the first that imports numpy. Skipped (77, saying why) without numpy,
# without a shared libhpk_blas, under sanitizers and in a cross build, and when the numpy found
# is not Debian's and calls a BLAS bundled under other symbol names (pip wheels), which no
# preload can reach.
#
# Exit status: 0 pass, 1 fail, 77 skipped, 99 hard error.

set -u
: "${top_builddir:=.}" "${top_srcdir:=.}" "${HPK_TEST_LAUNCHER:=}" "${HPK_SANITIZER_FLAGS:=}"
: "${HPK_CROSS_COMPILING:=no}"

skip() {
    echo "SKIP: $*"
    exit 77
}

[ -n "$HPK_SANITIZER_FLAGS" ] &&
    skip "sanitizer build: an instrumented libhpk_blas cannot be preloaded into python3"
{ [ -n "$HPK_TEST_LAUNCHER" ] || [ "$HPK_CROSS_COMPILING" = yes ]; } &&
    skip "cross build: python3 and numpy are programs of the build machine"
lib=$(cd "$top_builddir" && pwd)/.libs/libhpk_blas.so
[ -f "$lib" ] || skip "no shared libhpk_blas in this build (--disable-shared?)"

py=
for p in ${HPK_PYTHON:-} /usr/bin/python3 python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import numpy' >/dev/null 2>&1; then
        py=$p
        break
    fi
done
[ -n "$py" ] || skip "no python3 with numpy (apt-get install python3-numpy)"
script="$top_srcdir/tests/blas/numpy_matmul.py"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hpk-numpy.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "--- $py, without libhpk_blas"
if ! HPK_VERBOSE=1 "$py" "$script" run "$tmp/plain.npz" >"$tmp/plain.out" 2>"$tmp/plain.err"; then
    echo "ERROR: the run without libhpk_blas failed:"
    cat "$tmp/plain.out" "$tmp/plain.err"
    exit 99
fi
cat "$tmp/plain.out"
echo "--- $py, LD_PRELOAD=$lib HPK_VERBOSE=1"
if ! HPK_VERBOSE=1 LD_PRELOAD="$lib" "$py" "$script" run "$tmp/hpk.npz" >"$tmp/hpk.out" \
    2>"$tmp/hpk.err"; then
    echo "FAIL: the run with libhpk_blas preloaded failed:"
    cat "$tmp/hpk.out" "$tmp/hpk.err"
    exit 1
fi
grep -E '^hpk: isa:|^hpk_blas: ' "$tmp/hpk.err"

status=0
if grep -qE '^hpk(_blas)?: ' "$tmp/plain.err"; then
    echo "FAIL: the run without the preload shows hpk at work; the comparison means nothing:"
    cat "$tmp/plain.err"
    status=1
fi
want=$(sed -n 's/^blas_calls //p' "$tmp/hpk.out")
line=$(grep -E '^hpk_blas: cblas_sgemm: [0-9]+ calls:' "$tmp/hpk.err")
computed=$(echo "$line" | sed -n 's/.* \([0-9][0-9]*\) computed by hpk.*/\1/p')
if [ -z "$computed" ] || [ "$computed" -eq 0 ]; then
    case $("$py" -c 'import numpy; print(numpy.__file__)') in
    /usr/lib/python3/*) ;;
    *)
        skip "$py's numpy is not Debian's and does not call cblas_sgemm by that name (a" \
            "bundled BLAS?); install python3-numpy or set HPK_PYTHON"
        ;;
    esac
    echo "FAIL: numpy's cblas_sgemm calls did not reach hpk: '${line:-no count in stderr}'"
    sed 's/^/  /' "$tmp/hpk.err"
    status=1
elif [ "$computed" -lt "${want:-1}" ]; then
    echo "FAIL: hpk computed $computed cblas_sgemm calls of the $want products"
    status=1
elif ! grep -qE '^hpk: isa: ' "$tmp/hpk.err"; then
    echo "FAIL: libhpk logged no decisions under HPK_VERBOSE=1: was it called?"
    status=1
fi

echo "--- comparison with a float64 reference (plain, then hpk)"
"$py" "$script" compare "$tmp/plain.npz" "$tmp/hpk.npz" || status=1
[ $status = 0 ] && echo "PASS: numpy float32 matmul computed by hpk, within the GEMM error bound"
exit $status
