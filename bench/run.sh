#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Runs hpk-bench (the default suite unless told otherwise), then the report: Markdown tables on
# stdout and in RESULTS/<time>.md, plots in RESULTS/<time>-*.png, the raw Google Benchmark JSON
# in RESULTS/<time>.json (compare two runs with Google Benchmark's tools/compare.py), and
# RESULTS/latest.* linking the newest. `make bench` calls this.
#
#   run.sh [--bin PATH] [--out DIR] [--filter REGEX] [--reps N] [--min-time SECONDS] [--full]
#          [--threads N] [-- MORE HPK-BENCH FLAGS]
#
# The same settings from the environment (make bench passes them): HPK_BENCH_FILTER,
# HPK_BENCH_REPS, HPK_BENCH_FULL=1, HPK_BENCH_ARGS, HPK_BENCH_MIN_TIME; PYTHON, GNUPLOT.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin=bench/hpk-bench
out=bench/results
filter=${HPK_BENCH_FILTER:-}
reps=${HPK_BENCH_REPS:-3}
full=${HPK_BENCH_FULL:-}
min_time=${HPK_BENCH_MIN_TIME:-0.1}
threads=1
extra=${HPK_BENCH_ARGS:-}

usage() { sed -n '3,15p' "$0" | sed 's/^# \{0,1\}//'; exit "$1"; }
while [ $# -gt 0 ]; do
    case $1 in
    --bin) bin=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --filter) filter=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --min-time) min_time=$2; shift 2 ;;
    --full) full=1; shift ;;
    --threads) threads=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    --) shift; break ;;
    *) echo "run.sh: unknown option $1" >&2; usage 2 >&2 ;;
    esac
done

[ -x "$bin" ] || { echo "run.sh: no benchmark program at $bin (make bench-build)" >&2; exit 1; }
py=${PYTHON:-}
[ -n "$py" ] || py=$(command -v python3 || true)
[ -n "$py" ] || { echo "run.sh: python3 is needed for the report" >&2; exit 1; }

mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
json=$out/$stamp.json

# Repetitions interleaved at random, so that a burst of noise from the shared machine hits every
# library alike; the console shows the aggregates, the JSON keeps every repetition (the report
# takes the best). --benchmark_min_time is per repetition.
set -- "--benchmark_out=$json" --benchmark_out_format=json \
    "--benchmark_repetitions=$reps" --benchmark_enable_random_interleaving=true \
    --benchmark_display_aggregates_only=true "--benchmark_min_time=$min_time" \
    "--threads=$threads" "$@"
[ -z "$filter" ] || set -- "$@" "--benchmark_filter=$filter"
[ -z "$full" ] || [ "$full" = 0 ] || set -- "$@" --full
# shellcheck disable=SC2086 # HPK_BENCH_ARGS is a list of flags
"$bin" "$@" $extra

for f in "$out"/latest.json "$out"/latest.md "$out"/latest-sweep.png "$out"/latest-roofline.png; do
    rm -f "$f"
done
ln -s "$stamp.json" "$out/latest.json"
GNUPLOT=${GNUPLOT:-} "$py" "$here/report.py" "$json" --out "$out/$stamp"
for kind in .md -sweep.png -roofline.png; do
    [ ! -e "$out/$stamp$kind" ] || ln -s "$stamp$kind" "$out/latest$kind"
done
echo "Raw results: $json (Google Benchmark JSON; $out/latest.* link the newest run)"
