# SPDX-License-Identifier: BSD-3-Clause
# Helpers shared by .ci/test.sh and .ci/run (sourced, not run). Debian/Ubuntu hosts, as root.

# The packages that build and test hpk natively (used by the scripts that source this file).
# shellcheck disable=SC2034
HPK_DEPS_BASE="autoconf automake libtool make pkg-config gcc g++ libc6-dev binutils libhwloc-dev hwloc
libcmocka-dev libblas-test python3-numpy"
# What .ci/run adds: the aarch64 cross toolchain, qemu-user and cmocka for arm64 (multiarch).
# shellcheck disable=SC2034
HPK_DEPS_CROSS="qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu
libcmocka-dev:arm64 libgomp1:arm64"

# What the benchmark suite adds: Google Benchmark, the peers it compares with, the report tools.
# shellcheck disable=SC2034
HPK_DEPS_BENCH="libbenchmark-dev libopenblas-dev libblis-dev libdnnl-dev libxsmm-dev libxnnpack-dev
gnuplot-nox python3"
# The network peers (PyTorch, ONNX Runtime through node): optional, each installed on its own
# (.ci/bench.sh), so that one that cannot be installed leaves only its rows "missing".
# shellcheck disable=SC2034
HPK_DEPS_NET_PEERS="python3-torch python3-onnx nodejs npm"

hpk_log() { printf '\n=== %s\n' "$*"; }

# hpk_install PKG...: installs the packages that are missing (apt-get update at most once per
# process tree; HPK_APT_UPDATED is exported). A foreign architecture in a name (pkg:arm64) is
# added to dpkg first.
hpk_installed() { # hpk_installed PKG[:ARCH]: installed for ARCH (default: native or all)
    case $1 in
    *:*) archs=${1#*:} ;;
    *) archs="$(dpkg --print-architecture)|all" ;;
    esac
    # dpkg -s is ambiguous once a package is installed for two architectures; ask per instance.
    dpkg-query -W -f='${db:Status-Abbrev}${Architecture}\n' "${1%%:*}" 2>/dev/null |
        grep -qE "^ii +($archs)\$"
}

hpk_install() {
    missing=
    for p in "$@"; do
        hpk_installed "$p" || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "missing packages:$missing; run as root or install them" >&2
        return 1
    fi
    for p in $missing; do
        case $p in
        *:*)
            arch=${p#*:}
            if [ "$arch" != "$(dpkg --print-architecture)" ] &&
                ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
                dpkg --add-architecture "$arch"
                HPK_APT_UPDATED=
            fi
            ;;
        esac
    done
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "${HPK_APT_UPDATED:-}" ]; then
        hpk_log "apt-get update"
        # An unreachable third-party source makes apt-get update fail; the Debian archive may
        # still have answered, so go on and let the install say whether it did.
        apt-get update -q || echo "warning: apt-get update reported errors; trying to install anyway"
        HPK_APT_UPDATED=1
        export HPK_APT_UPDATED
    fi
    hpk_log "apt-get install$missing"
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing </dev/null
}

# hpk_show_results BUILDDIR: the automake summary and each test's cmocka summary; the whole log
# of every test that did not pass.
hpk_show_results() {
    (
        cd "$1" || exit 1
        for trs in $(find . -name '*.trs' | sort); do
            t=${trs%.trs}
            res=$(sed -n 's/^:test-result: //p' "$trs" | head -n 1)
            summary=$(grep -E '^\[ *(PASSED|FAILED|SKIPPED|ERROR) *\]|^(PASS|SKIP|FAIL|ERROR):' \
                "$t.log" 2>/dev/null | tr '\n' ' ')
            printf '  %-5s %-32s %s\n' "$res" "${t#./}" "$summary"
        done
        for trs in $(find . -name '*.trs' -exec grep -l -E '^:test-result: (FAIL|XPASS|ERROR)' {} +); do
            printf '\n--- %s ---\n' "${trs%.trs}.log"
            cat "${trs%.trs}.log"
        done
    )
}

# hpk_build NAME CONFIGURE-ARGS...: out-of-tree build in build/NAME, then make check; the test
# summary is printed whatever happens. Runs in the source tree root.
hpk_build() {
    name=$1
    shift
    if [ -f config.status ]; then
        echo "the source tree is configured in place; run 'make distclean' here first" >&2
        return 1
    fi
    mkdir -p "build/$name" || return 1
    (
        cd "build/$name" || exit 1
        hpk_log "[$name] configure $*"
        ../../configure "$@" || exit 1
        hpk_log "[$name] make"
        make -j"$(nproc)" || exit 1
        hpk_log "[$name] make check ${HPK_CHECK_TESTS:-}"
        if [ -n "${HPK_CHECK_TESTS:-}" ]; then
            make -j"$(nproc)" check TESTS="$HPK_CHECK_TESTS"
        else
            make -j"$(nproc)" check
        fi
        rc=$?
        hpk_log "[$name] results"
        hpk_show_results .
        exit $rc
    )
}

# hpk_check NAME [TEST...]: make check again in build/NAME (configured and built by hpk_build),
# under whatever HPK_ISA / QEMU_CPU the caller set; the summary as hpk_build prints it.
hpk_check() {
    name=$1
    shift
    (
        cd "build/$name" || exit 1
        hpk_log "[$name] make check ${*:-} (HPK_ISA=${HPK_ISA:-} QEMU_CPU=${QEMU_CPU:-})"
        if [ $# -gt 0 ]; then
            make -j"$(nproc)" check TESTS="$*"
        else
            make -j"$(nproc)" check
        fi
        rc=$?
        hpk_log "[$name] results"
        hpk_show_results .
        exit $rc
    )
}

# hpk_info_isa NAME ISA: hpk-info of build/NAME (through its test launcher) with HPK_ISA=ISA
# must report that table.
hpk_info_isa() {
    launcher=$(sed -n 's/^TEST_LAUNCHER = //p' "build/$1/Makefile")
    out=$(HPK_ISA=$2 $launcher "build/$1/hpk-info") || {
        echo "hpk-info failed with HPK_ISA=$2" >&2
        return 1
    }
    hpk_log "[$1] HPK_ISA=$2 hpk-info"
    echo "$out"
    echo "$out" | grep -q "^isa: $2 " || {
        echo "hpk-info with HPK_ISA=$2 does not report isa: $2" >&2
        return 1
    }
}
