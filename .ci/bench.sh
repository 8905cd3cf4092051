#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The main command of the README: installs what the build and the benchmark suite need (Debian,
# as root; skipped when everything is installed), builds in build/main, prints what hpk decided
# on this machine (hpk-info), then runs the default benchmark suite -- hpk side by side with
# OpenBLAS, BLIS, oneDNN, libxsmm and XNNPACK, ResNet-50 and MobileNetV2 beside PyTorch and ONNX
# Runtime, and the machine's measured peak -- and ends with the
# summary table and where the plots are. Arguments go to bench/run.sh (e.g. --threads 2,
# --filter REGEX, --full).
set -u
cd "$(dirname "$0")/.." || exit 1
. .ci/lib.sh

# shellcheck disable=SC2086
hpk_install $HPK_DEPS_BASE $HPK_DEPS_BENCH || exit 1
# The network peers, one at a time and never fatal: a machine whose node comes from elsewhere
# (NodeSource's nodejs bundles npm and conflicts with Debian's npm package) keeps its own.
for p in $HPK_DEPS_NET_PEERS; do
    case $p in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    hpk_install "$p" || hpk_log "$p not installed: the rows that need it say so"
done
# ONNX Runtime for the network rows: the npm package's CPU library. --ignore-scripts: its install
# script would fetch GPU parts from outside the registries; the CPU binding needs none of them.
if [ ! -d bench/peers/node_modules/onnxruntime-node ]; then
    hpk_log "npm install onnxruntime-node (bench/peers)"
    (cd bench/peers && npm install --ignore-scripts --no-save --no-audit --no-fund \
        onnxruntime-node >/dev/null) || hpk_log "onnxruntime-node not installed: its rows say so"
fi
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
hpk_log "benchmarks (about 8 minutes on 2 cores)"
exec sh ../../bench/run.sh "$@"
