#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Conformance of libhpk_blas with the reference BLAS testers of Debian's libblas-test, run with
# the library preloaded (LD_PRELOAD), as a user would drop it under a program:
#
#   xblat3s   the Fortran level-3 tester: SGEMM through sgemm_ (its XERBLA catches error exits)
#   xscblat3  the CBLAS level-3 tester: cblas_sgemm, column- and row-major (cblas_xerbla)
#
# Each tests SGEMM only, with error exits on, every N up to the tester's NMAX (65; at most 9
# values), and the alpha/beta values of Debian's own input files plus a negative one each. Each
# runs with the kernel table hpk picks and again with HPK_ISA=generic; its summary must say
# PASSED for the error exits and for every computational test, and HPK_VERBOSE=1 must show that
# hpk computed the calls (libhpk's decisions, with the kernel table, and libhpk_blas's count of
# computed calls at exit).
#
# Skipped (77, saying why) without libblas-test, in a build without a shared library, under
# sanitizers (an instrumented library cannot be preloaded into an uninstrumented program) and
# in a cross build (the testers are host programs). HPK_BLAS_TESTER_DIR overrides where the
# testers are looked for.
#
# Exit status: 0 pass, 1 fail, 77 skipped, 99 hard error.

set -u
: "${top_builddir:=.}" "${HPK_TEST_LAUNCHER:=}" "${HPK_SANITIZER_FLAGS:=}"
: "${HPK_CROSS_COMPILING:=no}"

skip() {
    echo "SKIP: $*"
    exit 77
}

[ -n "$HPK_SANITIZER_FLAGS" ] &&
    skip "sanitizer build: an instrumented libhpk_blas cannot be preloaded into the testers"
{ [ -n "$HPK_TEST_LAUNCHER" ] || [ "$HPK_CROSS_COMPILING" = yes ]; } &&
    skip "cross build: the testers are programs of the build machine"
lib=$(cd "$top_builddir" && pwd)/.libs/libhpk_blas.so
[ -f "$lib" ] || skip "no shared libhpk_blas in this build (--disable-shared?)"

# The testers: HPK_BLAS_TESTER_DIR, else Debian's multiarch directory, else where dpkg says.
dir=${HPK_BLAS_TESTER_DIR:-}
if [ -z "$dir" ]; then
    for d in /usr/lib/*/blas /usr/lib/blas; do
        [ -x "$d/xblat3s" ] && dir=$d && break
    done
fi
if [ -z "$dir" ] && command -v dpkg >/dev/null 2>&1; then
    f=$(dpkg -L libblas-test 2>/dev/null | grep '/xblat3s$' | head -n 1)
    [ -n "$f" ] && dir=$(dirname "$f")
fi
if [ -z "$dir" ] || [ ! -x "$dir/xblat3s" ]; then
    skip "the reference BLAS testers are not installed (apt-get install libblas-test)"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hpk-xblat3.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

# The input files (the testers read them from standard input; the format is that of Debian's
# sblat3.in and sin3). NMAX is 65 and at most 9 values of N fit; these cover 0, 1, small edge
# sizes, a micro-tile and a half (9), a KC-unrelated 16, a prime 35 and NMAX itself.
nvals='0 1 2 3 5 9 16 35 65'
alphas='0.0 1.0 0.7 -1.0'
betas='0.0 1.0 1.3 -0.5'
cat >"$tmp/sblat3.in" <<EOF
'sblat3.out'      NAME OF SUMMARY OUTPUT FILE
6                 UNIT NUMBER OF SUMMARY FILE
'SBLAT3.SNAP'     NAME OF SNAPSHOT OUTPUT FILE
-1                UNIT NUMBER OF SNAPSHOT FILE (NOT USED IF .LT. 0)
F        LOGICAL FLAG, T TO REWIND SNAPSHOT FILE AFTER EACH RECORD.
F        LOGICAL FLAG, T TO STOP ON FAILURES.
T        LOGICAL FLAG, T TO TEST ERROR EXITS.
16.0     THRESHOLD VALUE OF TEST RATIO
9                 NUMBER OF VALUES OF N
$nvals            VALUES OF N
4                 NUMBER OF VALUES OF ALPHA
$alphas           VALUES OF ALPHA
4                 NUMBER OF VALUES OF BETA
$betas            VALUES OF BETA
SGEMM  T PUT F FOR NO TEST. SAME COLUMNS.
SSYMM  F PUT F FOR NO TEST. SAME COLUMNS.
STRMM  F PUT F FOR NO TEST. SAME COLUMNS.
STRSM  F PUT F FOR NO TEST. SAME COLUMNS.
SSYRK  F PUT F FOR NO TEST. SAME COLUMNS.
SSYR2K F PUT F FOR NO TEST. SAME COLUMNS.
EOF
cat >"$tmp/scblat3.in" <<EOF
'SCBLAT3.SNAP'    NAME OF SNAPSHOT OUTPUT FILE
-1                UNIT NUMBER OF SNAPSHOT FILE (NOT USED IF .LT. 0)
F        LOGICAL FLAG, T TO REWIND SNAPSHOT FILE AFTER EACH RECORD.
F        LOGICAL FLAG, T TO STOP ON FAILURES.
T        LOGICAL FLAG, T TO TEST ERROR EXITS.
2        0 TO TEST COLUMN-MAJOR, 1 TO TEST ROW-MAJOR, 2 TO TEST BOTH
16.0     THRESHOLD VALUE OF TEST RATIO
9                 NUMBER OF VALUES OF N
$nvals            VALUES OF N
4                 NUMBER OF VALUES OF ALPHA
$alphas           VALUES OF ALPHA
4                 NUMBER OF VALUES OF BETA
$betas            VALUES OF BETA
cblas_sgemm  T PUT F FOR NO TEST. SAME COLUMNS.
cblas_ssymm  F PUT F FOR NO TEST. SAME COLUMNS.
cblas_strmm  F PUT F FOR NO TEST. SAME COLUMNS.
cblas_strsm  F PUT F FOR NO TEST. SAME COLUMNS.
cblas_ssyrk  F PUT F FOR NO TEST. SAME COLUMNS.
cblas_ssyr2k F PUT F FOR NO TEST. SAME COLUMNS.
EOF

status=0
fail() {
    echo "FAIL: $*"
    status=1
}

# run NAME TESTER INPUT SUMMARY ENTRY ISA: runs the tester in its own directory; SUMMARY is the
# file its summary goes to ("-": standard output), ENTRY the libhpk_blas entry point it calls,
# ISA the HPK_ISA value ("" for hpk's own choice).
run() {
    name=$1 tester=$2 input=$3 summary=$4 entry=$5 isa=$6
    w="$tmp/$name"
    mkdir "$w" || exit 99
    label="$name (HPK_ISA=${isa:-unset})"
    # The testers' directory comes first on the library path: it holds the reference
    # libblas.so.3, whose CBLAS globals xscblat3 needs (OpenBLAS has none); libhpk_blas finds
    # its libhpk through its own run path.
    (cd "$w" && env ${isa:+HPK_ISA=$isa} HPK_VERBOSE=1 \
        LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" LD_PRELOAD="$lib" \
        "$dir/$tester" <"$tmp/$input" >stdout 2>stderr)
    rc=$?
    [ "$summary" = - ] && summary=stdout
    echo "--- $label: summary"
    grep -E 'PASSED|FAILED|NOT TESTED|FATAL|SUSPECT|ABANDONED|XERBLA|NOT DETECTED|END OF TESTS' \
        "$w/$summary" 2>/dev/null | grep -v 'WAS NOT TESTED' | sed 's/^ */  /'
    ok=1
    [ $rc = 0 ] || {
        fail "$label: the tester exited with status $rc"
        ok=0
    }
    if grep -qE 'FAIL|FATAL|SUSPECT|ABANDONED|NOT DETECTED|WAS CALLED WITH' "$w/$summary"; then
        fail "$label: the tester reports failures"
        ok=0
    fi
    if [ "$entry" = SGEMM ]; then
        set -- 'PASSED THE TESTS OF ERROR-EXITS' 'PASSED THE COMPUTATIONAL TESTS'
    else
        set -- 'PASSED THE TESTS OF ERROR-EXITS' 'PASSED THE COLUMN-MAJOR COMPUTATIONAL TESTS' \
            'PASSED THE ROW-MAJOR +COMPUTATIONAL TESTS'
    fi
    for pat in "$@"; do
        grep -qE "^ *$entry +$pat" "$w/$summary" || {
            fail "$label: no '$pat' for $entry"
            ok=0
        }
    done
    # The proof that hpk computed: libhpk logged its decisions (naming the table in use) and
    # libhpk_blas counted computed calls and the invalid ones the error-exit tests made.
    sym=sgemm_
    [ "$entry" = SGEMM ] || sym=cblas_sgemm
    echo "--- $label: HPK_VERBOSE"
    grep -E '^hpk: isa:|^hpk_blas: ' "$w/stderr" | sed 's/^/  /'
    if [ -n "$isa" ]; then
        grep -qE "^hpk: isa: $isa( |\$)" "$w/stderr" || {
            fail "$label: libhpk did not log 'isa: $isa'"
            ok=0
        }
    else
        grep -qE '^hpk: isa: ' "$w/stderr" || {
            fail "$label: libhpk logged no decisions: was it called?"
            ok=0
        }
    fi
    line=$(grep -E "^hpk_blas: $sym: [0-9]+ calls:" "$w/stderr")
    count() { echo "$line" | sed -n "s/.* \([0-9][0-9]*\) $1.*/\1/p"; }
    total=$(echo "$line" | sed -n 's/^[^:]*: [^:]*: \([0-9][0-9]*\) calls:.*/\1/p')
    computed=$(count 'computed by hpk') invalid=$(count invalid) failed=$(count failed)
    # The tester's count of computational calls (per layout), which includes those with
    # nothing to compute (m = 0, ...): every one must have reached libhpk_blas.
    calls=$(sed -n 's/.*COMPUTATIONAL TESTS *( *\([0-9][0-9]*\) CALLS).*/\1/p' \
        "$w/$summary" | head -n 1)
    if [ -z "$computed" ] || [ -z "$total" ] || [ "$computed" -eq 0 ] ||
        [ "${invalid:-0}" -eq 0 ] || [ "${failed:-1}" -ne 0 ]; then
        fail "$label: libhpk_blas did not compute the calls: '${line:-no count in stderr}'"
        ok=0
    elif [ -n "$calls" ] && [ $((total - invalid)) -lt "$calls" ]; then
        fail "$label: libhpk_blas saw $((total - invalid)) valid calls, the tester made $calls"
        ok=0
    fi
    if [ $ok = 0 ]; then
        echo "--- $label: $summary"
        cat "$w/$summary"
        echo "--- $label: stderr (first 50 lines)"
        head -n 50 "$w/stderr"
    fi
}

for isa in "" generic; do
    run "xblat3s${isa:+-$isa}" xblat3s sblat3.in sblat3.out SGEMM "$isa"
    if [ -x "$dir/xscblat3" ]; then
        run "xscblat3${isa:+-$isa}" xscblat3 scblat3.in - cblas_sgemm "$isa"
    else
        fail "$dir/xscblat3 is missing from libblas-test"
    fi
done

[ $status = 0 ] && echo "PASS: the reference testers pass with libhpk_blas preloaded"
exit $status
