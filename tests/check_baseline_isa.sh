#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Fails if code compiled for the baseline holds instructions of a wider ISA: every object of the
# build except those of the ISA folders ($HPK_ISA_DIRS) is disassembled, and any function with a
# VEX- or EVEX-encoded instruction, a ymm/zmm register or an opmask register is listed. A
# -mavx2 leaking into a baseline file, or a compiler turning a memset into AVX, would otherwise
# crash (SIGILL) on an older CPU before the dispatcher had a say.
#
# The baseline is what the user's CFLAGS say: plain x86-64 forbids VEX and EVEX; CFLAGS that
# already enable AVX (e.g. -march=x86-64-v3) forbid only EVEX, zmm and opmasks; CFLAGS with
# AVX-512F leave nothing to check (skipped).
#
# Detection works on the encoding: in 64-bit mode an instruction whose first byte (after segment
# and address-size prefixes) is c4/c5 is VEX and 62 is EVEX, whatever its mnemonic; register
# names and 'v' mnemonics (AMD XOP) are checked as well.
#
# -flto: the objects then hold GIMPLE (and, with -ffat-lto-objects, code that is not the code
# that gets linked), so the code that matters only exists after the link. When any object holds
# LTO sections the linked library (.libs/libhpk.so, or the static hpk-info program without a
# shared library) is scanned as well, function by function through its symbol table; functions
# defined in the ISA folders' objects (by name, ignoring GCC's .lto_priv/.constprop/.cold
# suffixes) and functions named for an ISA (suffix __avx2, __avx512..., see STYLE.md) are
# exempt, every other function must be baseline code.
#
# First the scanner tests itself: tests/check_baseline_isa_selftest.c compiled with the next
# ISA up must be flagged, and compiled for the baseline must not.
#
# Exit status: 0 pass, 1 offending code found, 77 skipped (not x86-64), 99 hard error (the
# scanner failed its self-test, no objects found, tools missing).

set -u
: "${top_builddir:=.}" "${top_srcdir:=.}" "${OBJDUMP:=objdump}" "${NM:=nm}" "${CC:=cc}"
: "${CFLAGS:=}" "${HPK_HOST_ARCH:=$(uname -m)}"
: "${HPK_ISA_DIRS:=kernels/x86_avx2 kernels/x86_avx512 kernels/arm_neon}"

case $HPK_HOST_ARCH in
x86_64 | amd64) ;;
*)
    echo "SKIP: the baseline ISA check is for x86-64 (host: $HPK_HOST_ARCH)"
    exit 77
    ;;
esac
if ! command -v "${OBJDUMP%% *}" >/dev/null 2>&1; then
    echo "ERROR: objdump not found ($OBJDUMP)" >&2
    exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hpk-isa.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

# The baseline of the user's flags: none (x86-64), avx, or avx512 (nothing to check).
macros=$($CC $CFLAGS -dM -E -x c /dev/null 2>/dev/null)
case $macros in
*__AVX512F__*)
    echo "SKIP: CFLAGS make AVX-512 the baseline; no wider x86 ISA to look for"
    exit 77
    ;;
*__AVX__*) level=avx ;;
*) level=none ;;
esac

# scan LEVEL [EXEMPT] < objdump -d output; prints "function: instruction" for each offending
# function (its first offence and the count) and exits 1 if there is any. EXEMPT (linked code
# only): "isa" followed by the names of functions that come from the ISA folders.
scan() {
    awk -v level="$1" -v exempt="${2:-}" '
    BEGIN {
        n = split(exempt, e, " ")
        for (i = 1; i <= n; i++) exempt_fn[e[i]] = 1
        bad = 0
    }
    function flush() {
        if (fn != "" && cnt > 0) { printf "  %s: %s (%d such instructions)\n", fn, first, cnt; bad = 1 }
        cnt = 0; first = ""
    }
    /^[0-9a-f]+ <.*>:$/ {
        flush()
        fn = $0; sub(/^[0-9a-f]+ </, "", fn); sub(/>:$/, "", fn)
        base = fn; sub(/[.@].*$/, "", base)
        skip = ("isa" in exempt_fn) && ((base in exempt_fn) || base ~ /__(avx2|avx512[a-z0-9_]*)$/)
        next
    }
    {
        if (skip) next
        nf = split($0, f, "\t")
        if (nf < 3 || f[1] !~ /^ *[0-9a-f]+:$/) next
        nb = split(f[2], b, " ")
        j = 1
        while (j <= nb && b[j] ~ /^(26|2e|36|3e|64|65|67)$/) j++
        ins = f[3]; sub(/ +$/, "", ins)
        if (ins ~ /^\(bad\)/) next
        mnem = ins; sub(/[ \t].*$/, "", mnem)
        evex = (b[j] == "62") || ins ~ /%zmm|%k[0-7]([^0-9]|$)|\{1to[0-9]+\}|%[xy]mm(1[6-9]|2[0-9]|3[01])/
        vex = (b[j] == "c4" || b[j] == "c5") || ins ~ /%ymm/ ||
              (mnem ~ /^v/ && mnem !~ /^ver[rw]/)
        if (evex || (level == "none" && vex)) {
            if (cnt == 0) first = ins
            cnt++
        }
    }
    END { flush(); exit bad }'
}

# --- self-test -----------------------------------------------------------------------------------
selftest_src=$top_srcdir/tests/check_baseline_isa_selftest.c
if [ "$level" = none ]; then wide="-mavx2"; else wide="-mavx512f"; fi
if ! $CC -O2 $wide -c "$selftest_src" -o "$tmp/wide.o" ||
    ! $CC -O2 $CFLAGS -fno-lto -c "$selftest_src" -o "$tmp/base.o"; then
    echo "ERROR: cannot compile the self-test ($CC)" >&2
    exit 99
fi
if "$OBJDUMP" -d "$tmp/wide.o" | scan "$level" >"$tmp/selftest.out"; then
    echo "ERROR: self-test: the scanner did not flag code compiled with $wide" >&2
    exit 99
fi
if ! "$OBJDUMP" -d "$tmp/base.o" | scan "$level" >"$tmp/selftest.out"; then
    echo "ERROR: self-test: the scanner flagged baseline code:" >&2
    cat "$tmp/selftest.out" >&2
    exit 99
fi
echo "self-test: $wide code flagged, baseline code passed (baseline: ${level:-x86-64})"

# --- the objects of this build -------------------------------------------------------------------
# Every libtool object below top_builddir, not descending into other build trees (a directory
# with its own config.status) nor into the ISA folders.
isa_prune=
for d in $HPK_ISA_DIRS; do isa_prune="$isa_prune -path ./$d -prune -o"; done
lo_files=$(cd "$top_builddir" && find . -mindepth 1 \
    \( -type d -exec test -e '{}/config.status' \; -prune \) -o $isa_prune \
    -name '*.lo' -print | sort)
objects_of() { # the .o files behind the .lo files given on stdin (paths below top_builddir)
    while read -r lo; do
        dir=${lo%/*}
        for key in pic_object non_pic_object; do
            o=$(sed -n "s/^$key='\(.*\)'\$/\1/p" "$top_builddir/$lo")
            [ -n "$o" ] && [ "$o" != none ] && echo "$dir/$o"
        done
    done
}
objects=$(echo "$lo_files" | grep . | objects_of | sort -u)
if [ -z "$objects" ]; then
    echo "ERROR: no libtool objects found below $top_builddir; build first" >&2
    exit 99
fi

status=0
count=0
lto=no
for o in $objects; do
    count=$((count + 1))
    if "$OBJDUMP" -h "$top_builddir/$o" | grep -q '\.gnu\.lto_'; then lto=yes; fi
    if ! "$OBJDUMP" -d "$top_builddir/$o" | scan "$level" >"$tmp/out"; then
        echo "FAIL: $o holds code beyond the baseline:"
        cat "$tmp/out"
        status=1
    fi
done
echo "scanned $count baseline objects"

# --- with -flto, the linked code -----------------------------------------------------------------
if [ "$lto" = yes ]; then
    linked=
    for f in .libs/libhpk.so .libs/hpk-info hpk-info; do
        if [ -f "$top_builddir/$f" ] && "$OBJDUMP" -f "$top_builddir/$f" >/dev/null 2>&1; then
            linked=$top_builddir/$f
            break
        fi
    done
    if [ -z "$linked" ]; then
        echo "ERROR: LTO objects, but no linked library or program to scan" >&2
        exit 99
    fi
    if ! "$OBJDUMP" -t "$linked" | grep -q '[[:space:]]F[[:space:]]'; then
        echo "ERROR: $linked has no symbol table (stripped?): cannot attribute its functions" >&2
        exit 99
    fi
    isa_lo=
    for d in $HPK_ISA_DIRS; do
        [ -d "$top_builddir/$d" ] && isa_lo="$isa_lo $(cd "$top_builddir" && find "./$d" -name '*.lo')"
    done
    exempt=isa
    for o in $(echo "$isa_lo" | tr ' ' '\n' | grep . | objects_of); do
        exempt="$exempt $("$NM" "$top_builddir/$o" 2>/dev/null | awk '{ print $NF }' |
            sed 's/[.@].*$//' | tr '\n' ' ')"
    done
    if ! "$OBJDUMP" -d "$linked" | scan "$level" "$exempt" >"$tmp/out"; then
        echo "FAIL: ${linked#"$top_builddir"/} (linked with LTO) holds code beyond the baseline" \
            "outside the ISA folders:"
        cat "$tmp/out"
        status=1
    else
        echo "LTO build: scanned the linked ${linked#"$top_builddir"/} as well"
    fi
fi

[ "$status" = 0 ] && echo "PASS: no code beyond the baseline in baseline objects"
exit $status
