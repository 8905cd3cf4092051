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

# The net family's peers (bench/peers/): PyTorch and ONNX Runtime on the same networks, at 1
# and --threads threads, when the run includes net rows (no filter, or one matching
# net/resnet50/hpk). Each is optional: what is missing is reported in the table.
#   HPK_BENCH_PEERS=none            skip them
#   HPK_BENCH_TORCH_PYTHON=PATH     the python with torch (default: the first of python3 on
#                                   PATH and /usr/bin/python3 that imports torch)
#   HPK_BENCH_MODEL_CACHE=DIR       where the ONNX models are exported (default
#                                   ${XDG_CACHE_HOME:-$HOME/.cache}/hpk-bench/models)
#   HPK_BENCH_PEER_REPS=R           timed runs per network (default 10, after 3 warm-up runs)
#   HPK_BENCH_NET_ROUNDS=N          rounds of peers and hpk alternated (default 3; see below)
peers_json=
extra_json=
if [ "${HPK_BENCH_PEERS:-}" != none ] &&
    { [ -z "$filter" ] || echo net/resnet50/hpk | grep -Eq -- "$filter"; }; then
    peers_json=$out/$stamp-peers.jsonl
    : >"$peers_json"
    missing() { printf '{"lib": "%s", "missing": "%s"}\n' "$1" "$2" >>"$peers_json"; }
    tlist=1
    [ "$threads" = 1 ] || tlist="1 $threads"
    preps=${HPK_BENCH_PEER_REPS:-10}
    # Rounds: the peers, then hpk-bench's filtered rows again, so many times over, each keeping
    # its best (report.py merges the rounds): the peers are other processes, and a network run
    # and its peers' minutes apart saw the VM's clock move by 10-20 % between them.
    rounds=${HPK_BENCH_NET_ROUNDS:-3}
    case $rounds in '' | *[!0-9]* | 0) echo "run.sh: HPK_BENCH_NET_ROUNDS must be >= 1" >&2; exit 2 ;; esac
    cache=${HPK_BENCH_MODEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hpk-bench/models}
    tpy=${HPK_BENCH_TORCH_PYTHON:-}
    if [ -z "$tpy" ]; then
        for cand in "$(command -v python3 || true)" /usr/bin/python3; do
            if [ -n "$cand" ] && "$cand" -c 'import torch' >/dev/null 2>&1; then
                tpy=$cand
                break
            fi
        done
    fi
    run_peers() {
        if [ -z "$tpy" ]; then
            missing pytorch "no python3 imports torch (Debian: apt-get install python3-torch)"
        else
            echo "run.sh: PyTorch peer ($tpy), threads $tlist" >&2
            # shellcheck disable=SC2086 # tlist is a list of numbers
            "$tpy" "$here/peers/torch_nets.py" --threads $tlist --reps "$preps" >>"$peers_json" ||
                missing pytorch "torch_nets.py failed (see stderr)"
        fi
        if ! command -v node >/dev/null 2>&1; then
            missing onnxruntime "no node on PATH"
        elif [ ! -d "$here/peers/node_modules/onnxruntime-node" ]; then
            missing onnxruntime "onnxruntime-node not in bench/peers/node_modules (bench/README.md)"
        else
            if [ ! -s "$cache/resnet50.onnx" ] || [ ! -s "$cache/mobilenetv2.onnx" ]; then
                if [ -z "$tpy" ] || ! "$tpy" "$here/peers/torch_nets.py" --export-onnx "$cache" \
                    >/dev/null 2>"$out/$stamp-onnx-export.log"; then
                    missing onnxruntime "no ONNX models: torch.onnx.export failed or no torch \
(see $out/$stamp-onnx-export.log)"
                fi
            fi
            if [ -s "$cache/resnet50.onnx" ] || [ -s "$cache/mobilenetv2.onnx" ]; then
                echo "run.sh: ONNX Runtime peer (models in $cache), threads $tlist" >&2
                # shellcheck disable=SC2086
                node "$here/peers/ort_nets.js" --models "$cache" --threads $tlist --reps "$preps" \
                    >>"$peers_json" ||
                    missing onnxruntime "ort_nets.js failed (see stderr)"
            fi
        fi
    }
    r=1
    while :; do
        run_peers
        [ "$r" -lt "$rounds" ] || break
        r=$((r + 1))
        echo "run.sh: round $r of $rounds: hpk-bench ${filter:-^net/} again" >&2
        rj=$out/$stamp-round$r.json
        # shellcheck disable=SC2086
        # The main run's flags, the later ones overriding (Google Benchmark keeps the last).
        "$bin" "$@" "--benchmark_out=$rj" "--benchmark_filter=${filter:-^net/}" $extra >/dev/null
        extra_json="$extra_json $rj"
    done
fi

for f in "$out"/latest.json "$out"/latest.md "$out"/latest-sweep.png "$out"/latest-roofline.png; do
    rm -f "$f"
done
ln -s "$stamp.json" "$out/latest.json"
set --
[ -z "$peers_json" ] || set -- --peers "$peers_json"
# shellcheck disable=SC2086 # extra_json is a list of paths without spaces
GNUPLOT=${GNUPLOT:-} "$py" "$here/report.py" "$json" ${extra_json:-} --out "$out/$stamp" "$@"
for kind in .md -sweep.png -roofline.png; do
    [ ! -e "$out/$stamp$kind" ] || ln -s "$stamp$kind" "$out/latest$kind"
done
echo "Raw results: $json (Google Benchmark JSON; $out/latest.* link the newest run)"
