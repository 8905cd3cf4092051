#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The test command of the README: installs what the build needs (Debian/Ubuntu, as root; skipped
# when everything is installed), builds out of tree in build/test with warnings as errors and
# runs the test suite. .ci/run runs exactly this first. Exit status: that of make check.
set -u
cd "$(dirname "$0")/.." || exit 1
. .ci/lib.sh

start=$(date +%s)
# shellcheck disable=SC2086
hpk_install $HPK_DEPS_BASE || exit 1
hpk_log "autogen"
./autogen.sh || exit 1
hpk_build test --enable-werror
rc=$?
printf '\n=== test.sh: %s in %ss (build/test)\n' "$([ $rc = 0 ] && echo PASSED || echo FAILED)" \
    "$(($(date +%s) - start))"
exit $rc
