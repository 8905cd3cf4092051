#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The main command of the README: installs what the build and the benchmark suite need (Debian,
# as root; skipped when everything is installed), builds in build/main, prints what hpk decided
# on this machine (hpk-info), then runs the default benchmark suite -- hpk side by side with
# OpenBLAS, BLIS, oneDNN and libxsmm, and the machine's measured peak -- and ends with the
# summary table and where the plots are. Arguments go to bench/run.sh (e.g. --threads 2,
# --filter REGEX, --full).
set -u
cd "$(dirname "$0")/.." || exit 1
. .ci/lib.sh

# shellcheck disable=SC2086
hpk_install $HPK_DEPS_BASE $HPK_DEPS_BENCH || exit 1
hpk_log "autogen"
./autogen.sh || exit 1
mkdir -p build/main
cd build/main || exit 1
if [ ! -f Makefile ]; then
    hpk_log "configure"
    ../../configure || exit 1
fi
hpk_log "make"
make -j"$(nproc)" >/dev/null || exit 1
make bench-build >/dev/null || exit 1
hpk_log "hpk-info"
./hpk-info || exit 1
hpk_log "benchmarks (about 3 minutes on 2 cores)"
exec sh ../../bench/run.sh "$@"
