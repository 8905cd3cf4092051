#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Generates configure and the Makefile templates from a git checkout (tarballs ship them).
set -e
cd "$(dirname "$0")"
mkdir -p m4 build-aux
autoreconf -fi
