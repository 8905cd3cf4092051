#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Turn hpk-bench's Google Benchmark JSON into Markdown tables and gnuplot PNGs.

    report.py RESULTS.json [MORE.json ...] [--out PREFIX] [--gnuplot PATH] [--no-plots]
              [--peers FILE.jsonl]

Writes PREFIX.md (default: the JSON's name without .json), PREFIX-sweep.png (GFLOP/s against
size, per library, for the square sweep) and PREFIX-roofline.png (every GEMM row as a point
under the measured FMA-peak and bandwidth roofs), and prints the Markdown to stdout.

MORE.json: further runs of some of the same rows (run.sh's rounds of the net family, alternated
with the peers); every row keeps its best over all the files. The first file gives the context.

--peers: the JSON lines of the net family's peers (bench/peers/, run by run.sh), one object per
network and thread count ({lib, version, net, threads, ms}) or {lib, missing: reason}; a
network and thread count given several times (one line per round) keeps its fastest.

Each row keeps its BEST repetition (the highest rate): the machines are shared, and noise only
ever slows a run down. Python 3 standard library only.
"""
import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys

SUFFIX = re.compile(r"^(real_time|manual_time|process_time|iterations:\d+|repeats:\d+|"
                    r"min_time:[0-9.]+s?|threads:\d+)$")
PEER_ORDER = ["openblas", "blis", "onednn", "onednn.winograd", "libxsmm", "xnnpack",
              "im2col+openblas"]
HPK_ALGO_ORDER = ["hpk.im2col", "hpk.gemm-1x1", "hpk.winograd-f2", "hpk.winograd-f4",
                  "hpk.winograd-s2", "hpk.depthwise"]
# Families with their own tables (render_conv, render_conv_epi), not the generic GFLOP/s one.
CUSTOM_FAMILIES = ("conv", "conv_epi", "net")
# The net family's peers (bench/peers/), in table order.
NET_PEERS = ["onnxruntime", "pytorch"]
# MobileNetV2's activation memory to compare the planned arena with (issue 14).
MNV2_REF_MB = 6.02
FAMILY_TITLES = {
    "gemm_sq": "Square SGEMM (M = N = K), warm",
    "gemm_dl": "DL shapes (BASELINES.md), warm",
    "gemm_dl_cold": "DL shapes, cold (operands flushed from cache)",
    "gemm_mnv2": "MobileNetV2's 1x1 layers as column-major GEMMs (cout, pixels, cin), warm",
    "gemm_malloc": "Operands as malloc places them (A, B and C 16 bytes past a cache line), warm",
    "gemm_small": "Small SGEMM, one call, warm",
    "gemm_batch": "Batched small SGEMM (64 independent GEMMs per iteration), warm",
    "gemv": "Matrix-vector, cold (weights from memory)",
    "gemv_warm": "Matrix-vector, warm",
    "gemm_epi": "GEMM + bias + residual + GELU: hpk fused vs hpk + a separate pass "
                "(peers: bare GEMM, no epilogue, for reference)",
    "conv": "Convolution, batch 1, NHWC fp32, warm",
    "conv_epi": "Convolution + bias + residual + ReLU: the fused epilogue's cost",
    "gemm_small_batch": "Small GEMMs, 64 per iteration: hpk's strided-batch plan run vs libxsmm's "
                        "dispatched kernels and the BLAS peers called per product, warm",
    "gemm_packed": "Packed weights: C = A W row-major, W packed once (hpk) vs plain sgemm, warm",
    "gemv_packed": "Matrix-vector with packed weights: y = x W (M = 1), warm and cold",
    "net": "Networks end to end, batch 1, 224x224, random weights: hpk's graph API vs "
           "ONNX Runtime and PyTorch",
    "host_threads": "hpk inside a host's threads: 2 host threads each calling hpk_sgemm, hpk at "
                    "its default thread count vs hpk_set_num_threads(1)",
}
# Families whose rows also count the bytes of the weights they stream (the GBps counter).
BANDWIDTH_FAMILIES = ["gemv_packed"]


def base_name(name):
    """family/shape/lib without Google Benchmark's suffixes (/real_time, /iterations:3 ...)."""
    parts = name.split("/")
    keep = [p for i, p in enumerate(parts) if i < 2 or not SUFFIX.match(p)]
    # roofline/<kind>/threads:T: the thread count is part of the row's identity.
    if parts[0] == "roofline":
        keep = parts[:2] + [p for p in parts[2:] if p.startswith("threads:")]
    return "/".join(keep)


def load(paths):
    """(context, best, order, errors) over the runs in paths (the first one's context): errors
    maps a row that never ran to why (its message)."""
    docs = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if not text.strip():
            # Google Benchmark leaves the file empty when --benchmark_filter matches nothing.
            sys.exit(f"report: {path} is empty: the run wrote no results (did the filter match "
                     "no benchmark? it is an ECMAScript regex: 'a|b', not 'a\\|b')")
        try:
            docs.append(json.loads(text))
        except json.JSONDecodeError as e:
            sys.exit(f"report: {path} is not hpk-bench JSON ({e}): a run cut short?")
    best = {}  # base name -> (rate, benchmark dict)
    fastest = {}  # base name -> the least min_ms over the repetitions (net rows)
    order = []
    errors = {}
    for b in (b for doc in docs for b in doc.get("benchmarks", [])):
        if b.get("run_type", "iteration") != "iteration":
            continue
        if b.get("error_occurred"):
            errors.setdefault(base_name(b["name"]),
                              (b.get("family_index", 0), b.get("error_message", "error")))
            continue
        rate = b.get("GFLOPS", b.get("GBps"))
        if rate is None:
            continue
        name = base_name(b["name"])
        if b.get("min_ms") is not None:
            fastest[name] = min(fastest.get(name, math.inf), b["min_ms"])
        if name not in best:
            # Registration order (family_index), not the random order the runs came in.
            order.append((b.get("family_index", len(order)), name))
        if name not in best or rate > best[name][0]:
            best[name] = (rate, b)
    errors = {n: e for n, e in errors.items() if n not in best}
    for name, ms in fastest.items():
        best[name][1]["min_ms_all"] = ms
    return docs[0].get("context", {}), best, [name for _, name in sorted(order)], errors


def lib_rank(lib):
    core = re.sub(r"_(fused|separate|bare)$", "", lib)
    if core == "hpk":
        group = 0
    elif core in HPK_ALGO_ORDER:
        return (1, False, f"{HPK_ALGO_ORDER.index(core):02d}")
    elif core.startswith("hpk."):
        group = 1
    elif core in PEER_ORDER:
        group = 2 + PEER_ORDER.index(core)
    else:
        group = 10
    return (group, lib.endswith("_separate"), lib)


def is_hpk(lib):
    return lib == "hpk" or lib.startswith("hpk.") or lib.startswith("hpk_")


def fmt(x, digits=1):
    return "–" if x is None else f"{x:.{digits}f}"


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


class Report:
    def __init__(self, context, best, order, errors=None, peers=None, runs=1):
        self.context, self.best, self.order = context, best, order
        self.runs = runs  # hpk-bench runs merged (run.sh's net rounds)
        self.peers = peers  # None: no peer file; else (results, missing) of load_peers
        self.errors = {}  # family -> {(shape, lib): message}: rows skipped or found wrong
        for name, (_, msg) in sorted((errors or {}).items(), key=lambda kv: kv[1][0]):
            parts = name.split("/")
            if len(parts) == 3:
                self.errors.setdefault(parts[0], {})[(parts[1], parts[2])] = msg
        self.roofs = {}
        self.families = {}  # family -> {"shapes": [..], "libs": set, "rows": {(shape, lib): b}}
        for name in order:
            rate, b = best[name]
            parts = name.split("/")
            if parts[0] == "roofline":
                self.roofs["/".join(parts[1:])] = (rate, b)
                continue
            if len(parts) != 3:
                continue
            fam, shape, lib = parts
            f = self.families.setdefault(fam, {"shapes": [], "libs": set(), "rows": {}})
            if shape not in f["shapes"]:
                f["shapes"].append(shape)
            f["libs"].add(lib)
            f["rows"][(shape, lib)] = (rate, b)
        self.peak1 = self.roof("fma_peak/threads:1")
        self.peak_all = self.roof_all("fma_peak")
        self.triad1 = self.roof("triad/threads:1")
        self.read1 = self.roof("read/threads:1")
        if self.peak1 is None:  # no roofline rows in this run: the startup measurement
            try:
                self.peak1 = float(context.get("hpk_bench.startup_peak_gflops_1t"))
            except (TypeError, ValueError):
                self.peak1 = None
        # % of peak is against the peak of the thread count the GEMMs ran with.
        try:
            self.threads = int(context.get("hpk_bench.threads", "1"))
        except ValueError:
            self.threads = 1
        self.peak_run, self.triad_run, self.read_run = self.peak1, self.triad1, self.read1
        if self.threads > 1:
            self.peak_run = self.roof(f"fma_peak/threads:{self.threads}") or self.peak_all
            if self.peak_run is None:  # no roofline rows: the startup measurement, if any
                try:
                    self.peak_run = float(context.get("hpk_bench.startup_peak_gflops_threads"))
                except (TypeError, ValueError):
                    self.peak_run = None
            self.triad_run = self.roof(f"triad/threads:{self.threads}") or self.roof_all("triad")
            self.read_run = self.roof(f"read/threads:{self.threads}") or self.roof_all("read")
        self.tlabel = "1 thread" if self.threads == 1 else f"{self.threads} threads"

    def roof(self, key):
        r = self.roofs.get(key)
        return r[0] if r else None

    def roof_all(self, kind):
        rows = [(int(k.split(":")[1]), v[0]) for k, v in self.roofs.items()
                if k.startswith(kind + "/threads:")]
        return max(rows)[1] if rows else None

    @staticmethod
    def main_lib(fam):
        return "hpk_fused" if fam in ("gemm_epi", "conv_epi") else "hpk"

    def render_host(self):
        """host_threads: hpk's default against one thread, both threads' products counted."""
        f = self.families["host_threads"]
        out = [f"## {FAMILY_TITLES['host_threads']}", "",
               "GFLOP/s of both host threads together (best repetition); >= 1 in the last "
               "column means hpk's pool costs the host nothing.", "",
               "| shape (M,N,K) | hpk (default threads) | hpk_1thread | hpk / hpk_1thread |",
               "|---|---|---|---|"]
        for shape in f["shapes"]:
            m, n, k = self.shape_dims("host_threads", shape)
            a = f["rows"].get((shape, "hpk"))
            b = f["rows"].get((shape, "hpk_1thread"))
            ra = a[0] if a else None
            rb = b[0] if b else None
            out.append(f"| {shape} ({m},{n},{k}) | {fmt(ra)} | {fmt(rb)} | "
                       f"{fmt(ra / rb, 2) if ra and rb else '–'} |")
        out.append("")
        return out

    def family_rows(self, fam):
        """(shape, {lib: rate}, best peer (lib, rate), ratio, pct) for each shape."""
        f = self.families[fam]
        out = []
        for shape in f["shapes"]:
            rates = {lib: f["rows"][(shape, lib)][0] for lib in f["libs"]
                     if (shape, lib) in f["rows"]}
            peers = [(r, lib) for lib, r in rates.items() if not is_hpk(lib)]
            best_peer = max(peers) if peers else None
            mine = rates.get(self.main_lib(fam))
            ratio = mine / best_peer[0] if mine and best_peer else None
            pct = 100.0 * mine / self.peak_run if mine and self.peak_run else None
            out.append((shape, rates, best_peer, ratio, pct))
        return out

    def shape_dims(self, fam, shape):
        for (s, _), (_, b) in self.families[fam]["rows"].items():
            if s == shape:
                return int(b.get("M", 0)), int(b.get("N", 0)), int(b.get("K", 0))
        return (0, 0, 0)

    def markdown(self):
        c = self.context
        lines = ["# hpk-bench results", ""]
        lines.append(f"- run: {c.get('date', '?')} on {c.get('host_name', '?')}, "
                     f"{c.get('num_cpus', '?')} CPUs at {c.get('mhz_per_cpu', '?')} MHz "
                     f"(as Google Benchmark reads it), suite `{c.get('hpk_bench.suite', '?')}`, "
                     f"peers on {c.get('hpk_bench.threads', '?')} thread(s)")
        lines.append(f"- roofs measured in this run: FP32 FMA peak {fmt(self.peak1)} GFLOP/s on 1 "
                     f"thread, {fmt(self.peak_all)} on all ({c.get('hpk_bench.fma_isa', '?')}); "
                     f"triad {fmt(self.triad1)} GB/s, read {fmt(self.read1)} GB/s on 1 thread "
                     f"(all threads: triad {fmt(self.roof_all('triad'))}, "
                     f"read {fmt(self.roof_all('read'))})")
        lines.append("- every figure is the best repetition; GFLOP/s count 2·M·N·K per GEMM; "
                     f"% peak is against the FMA peak on {self.threads} thread(s) "
                     f"({fmt(self.peak_run)} GFLOP/s); hpk/best is the dispatched hpk "
                     "row over the best peer row")
        for key in sorted(c):
            if key.split(".")[0] in ("hpk", "openblas", "blis", "onednn", "libxsmm", "env",
                                     "warning", "xnnpack") or key.endswith(".error") \
                    or key in ("hpk_bench.conv", "hpk_bench.net"):
                lines.append(f"- `{key}`: {c[key]}")
        lines.append("")
        head, lines = lines, []

        # Summary: hpk against each peer, per family (geometric means over the shapes).
        fams = [f for f in FAMILY_TITLES if f in self.families] + \
               [f for f in self.families if f not in FAMILY_TITLES]
        # conv_epi compares a library with itself (fused vs bare): its own table, not a column.
        summary_fams = [f for f in fams if f not in ("conv_epi", "net", "host_threads")]
        peers = sorted({lib for f in summary_fams for lib in self.families[f]["libs"]
                        if not is_hpk(lib)}, key=lib_rank)
        peer_cores = []
        for p in peers:
            core = re.sub(r"_bare$", "", p)
            if core not in peer_cores:
                peer_cores.append(core)
        if summary_fams:  # (the net family alone has only its own table)
            lines.append("## Summary: hpk / peer (geometric mean over the family's shapes; "
                         "> 1 means hpk is faster)")
            lines.append("")
            lines.append("| family | shapes | hpk GFLOP/s (geomean) | hpk % peak (geomean) | "
                         + " | ".join(f"hpk / {p}" for p in peer_cores) + " | hpk / best peer |")
            lines.append("|---|---|---|---|" + "---|" * (len(peer_cores) + 1))
            for fam in summary_fams:
                rows = self.family_rows(fam)
                main = self.main_lib(fam)
                mine = [r[1].get(main) for r in rows]
                cells = []
                for p in peer_cores:
                    ratios = [r[1][main] / r[1][q] for r in rows for q in (p, p + "_bare")
                              if r[1].get(main) and r[1].get(q)]
                    cells.append(fmt(geomean(ratios), 2))
                lines.append(f"| {fam} | {len(rows)} | {fmt(geomean(mine))} | "
                             f"{fmt(geomean([r[4] for r in rows]))} | " + " | ".join(cells) +
                             f" | {fmt(geomean([r[3] for r in rows]), 2)} |")
        if "conv_epi" in self.families:
            lines.append("")
            lines.append(self.epi_sentence())
        lines.append("")
        summary, lines = lines, []

        for fam in fams:
            if fam == "conv":
                lines += self.render_conv()
                continue
            if fam == "conv_epi":
                lines += self.render_conv_epi()
                continue
            if fam == "net":
                lines += self.render_net()
                continue
            if fam == "host_threads":
                lines += self.render_host()
                continue
            f = self.families[fam]
            libs = sorted(f["libs"], key=lib_rank)
            lines.append(f"## {FAMILY_TITLES.get(fam, fam)}")
            lines.append("")
            lines.append(f"GFLOP/s ({self.tlabel}).")
            lines.append("")
            lines.append("| shape (M,N,K) | " + " | ".join(libs) +
                         " | best peer | hpk/best | hpk % peak |")
            lines.append("|---|" + "---|" * (len(libs) + 3))
            for shape, rates, best_peer, ratio, pct in self.family_rows(fam):
                m, n, k = self.shape_dims(fam, shape)
                bp = f"{best_peer[1]} {best_peer[0]:.1f}" if best_peer else "–"
                lines.append(f"| {shape} ({m},{n},{k}) | " +
                             " | ".join(fmt(rates.get(lib)) for lib in libs) +
                             f" | {bp} | {fmt(ratio, 2)} | {fmt(pct)} |")
            # The kernel each hpk row ran (its label), once per family and library.
            labels = {}
            for (shape, lib), (_, b) in f["rows"].items():
                if is_hpk(lib) and lib not in labels:
                    labels[lib] = b.get("label", "")
            if labels:
                lines.append("")
                for lib in sorted(labels, key=lib_rank):
                    lines.append(f"- `{lib}` (first shape): {labels[lib]}")
            lines.append("")
            if fam in BANDWIDTH_FAMILIES:
                lines.extend(self.bandwidth_table(fam, libs))

        if self.roofs:
            lines.append("## Roofs")
            lines.append("")
            lines.append("| row | rate | what |")
            lines.append("|---|---|---|")
            for key, (rate, b) in sorted(self.roofs.items()):
                unit = "GFLOP/s" if "GFLOPS" in b else "GB/s"
                lines.append(f"| {key} | {rate:.1f} {unit} | {b.get('label', '')} |")
            lines.append("")
        return "\n".join(head), "\n".join(summary), "\n".join(lines)

    # --- convolution ------------------------------------------------------------------------

    @staticmethod
    def ms_of(b, rate):
        """Milliseconds per run of a convolution row, from its best rate (MFLOP / GFLOP/s)."""
        mflop = b.get("MFLOP")
        return mflop / rate if mflop and rate else None

    @staticmethod
    def fmt_ms(ms):
        return "–" if ms is None else (f"{ms:.3g}" if ms < 1000 else f"{ms:.0f}")

    def conv_grid(self, fam):
        """(shapes, libs, rows, errors) of a family, the rows that never ran included."""
        f = self.families.get(fam, {"shapes": [], "libs": set(), "rows": {}})
        errs = self.errors.get(fam, {})
        shapes = list(f["shapes"])
        for (shape, _) in errs:
            if shape not in shapes:
                shapes.append(shape)
        libs = sorted(set(f["libs"]) | {lib for (_, lib) in errs}, key=lib_rank)
        return shapes, libs, f["rows"], errs

    @staticmethod
    def notes_by_value(pairs):
        """{value: [shapes]} from (shape, value) pairs, in first-seen order."""
        out = {}
        for shape, value in pairs:
            out.setdefault(value, [])
            if shape not in out[value]:
                out[value].append(shape)
        return out

    def run_notes(self, shapes, libs, rows, errs):
        """What each row ran (its label, grouped over the shapes), its worst error, the skips."""
        lines = ["", "What ran (labels; `| warm` everywhere: operands reused, in cache as far as "
                 "they fit), and the largest error against hpk's im2col, relative to Σ|x||w|:", ""]
        for lib in libs:
            pairs, worst = [], None
            for shape in shapes:
                if (shape, lib) in rows:
                    b = rows[(shape, lib)][1]
                    pairs.append((shape, b.get("label", "").split(" | ")[0]))
                    e = b.get("max_rel_err")
                    if e is not None:
                        worst = e if worst is None else max(worst, e)
            if not pairs:
                continue
            groups = self.notes_by_value(pairs)
            text = "; ".join(f"{label} ({', '.join(sh)})" if len(groups) > 1 else label
                             for label, sh in groups.items())
            err = f" — max error {worst:.1e}" if worst is not None else ""
            lines.append(f"- `{lib}`: {text}{err}")
        skips = self.notes_by_value(((shape, (lib, msg)) for (shape, lib), msg in errs.items()))
        if skips:
            lines.append("")
            lines.append("Rows not timed:")
            lines.append("")
            for (lib, msg), sh in sorted(skips.items(), key=lambda kv: lib_rank(kv[0][0])):
                lines.append(f"- `{lib}` on {', '.join(sh)}: {msg}")
        return lines

    def render_conv(self):
        shapes, libs, rows, errs = self.conv_grid("conv")
        lines = [f"## {FAMILY_TITLES['conv']}", ""]
        lines.append(f"Each cell: ms · GFLOP/s ({self.tlabel}, best repetition). GFLOP/s count "
                     "the direct convolution, 2·oh·ow·cout·kh·kw·cin/groups, whatever the "
                     "algorithm. A blank cell: the row does not apply to the shape; `skip` and "
                     "`WRONG`: see below the table. hpk/best: hpk (its own choice) over the "
                     "fastest peer, in speed; % peak: hpk against the FP32 FMA peak on "
                     f"{self.tlabel} ({fmt(self.peak_run)} GFLOP/s).")
        lines.append("")
        lines.append("| layer | MFLOP | hpk chose | " + " | ".join(libs) +
                     " | best peer | hpk/best | hpk % peak |")
        lines.append("|---|---|---|" + "---|" * (len(libs) + 3))
        for shape in shapes:
            cells, mflop, chose, peers = [], None, "–", []
            for lib in libs:
                if (shape, lib) in rows:
                    rate, b = rows[(shape, lib)]
                    mflop = b.get("MFLOP", mflop)
                    cells.append(f"{self.fmt_ms(self.ms_of(b, rate))} · {rate:.1f}")
                    if not is_hpk(lib):
                        peers.append((rate, lib))
                    if lib == "hpk":
                        m = re.match(r"auto: ([^,]+)", b.get("label", ""))
                        chose = m.group(1) if m else "?"
                elif (shape, lib) in errs:
                    cells.append("WRONG" if errs[(shape, lib)].startswith("WRONG") else "skip")
                else:
                    cells.append("")
            mine = rows.get((shape, "hpk"), (None, None))[0]
            best = max(peers) if peers else None
            ratio = mine / best[0] if mine and best else None
            pct = 100.0 * mine / self.peak_run if mine and self.peak_run else None
            bp = f"{best[1]} {best[0]:.1f}" if best else "–"
            lines.append(f"| {shape} | {fmt(mflop, 0)} | {chose} | " + " | ".join(cells) +
                         f" | {bp} | {fmt(ratio, 2)} | {fmt(pct)} |")
        lines += self.run_notes(shapes, libs, rows, errs)
        lines.append("")
        return lines

    def epi_overheads(self):
        """[(shape, core, bare ms, fused ms, fused rate, overhead %, paired overhead %)]."""
        shapes, libs, rows, _ = self.conv_grid("conv_epi")
        cores = []
        for lib in libs:
            core = re.sub(r"_(fused|bare)$", "", lib)
            if core not in cores:
                cores.append(core)
        out = []
        for shape in shapes:
            for core in cores:
                bare, fused = rows.get((shape, core + "_bare")), rows.get((shape, core + "_fused"))
                bms = self.ms_of(bare[1], bare[0]) if bare else None
                fms = self.ms_of(fused[1], fused[0]) if fused else None
                over = 100.0 * (fms / bms - 1.0) if bms and fms else None
                paired = fused[1].get("paired_overhead_pct") if fused else None
                out.append((shape, core, bms, fms, fused[0] if fused else None, over, paired))
        return out

    def epi_sentence(self):
        parts = [f"{core} {over:+.1f} % (paired: {fmt(paired)} %)"
                 for _, core, _, _, _, over, paired in self.epi_overheads() if over is not None]
        return ("conv_epi: bias + residual + ReLU fused, time over the bare convolution "
                "(hpk's target: at most +5 %): " + (", ".join(parts) if parts else "–") + ".")

    def render_conv_epi(self):
        shapes, libs, rows, errs = self.conv_grid("conv_epi")
        lines = [f"## {FAMILY_TITLES['conv_epi']}", ""]
        lines.append(f"{self.tlabel}, best repetition. Fused: bias + residual + ReLU in the "
                     "convolution (hpk: hpk_conv2d_run with a residual tensor; oneDNN: bias, "
                     "then post-ops sum (the residual, which the destination holds) and eltwise "
                     "relu). Overhead: fused time over bare time, from the two rows' best "
                     "repetitions; paired: the fused row's own measure, bare and fused runs "
                     "alternated 25 times, fastest of each, in CPU time (steadier on a shared "
                     "machine; 1-thread runs only).")
        lines.append("")
        lines.append("| layer | library | bare ms | fused ms | fused GFLOP/s | overhead | "
                     "paired overhead |")
        lines.append("|---|---|---|---|---|---|---|")
        by_shape = {}
        pct = lambda x: "–" if x is None else f"{x:+.1f} %"  # noqa: E731
        for shape, core, bms, fms, frate, over, paired in self.epi_overheads():
            by_shape.setdefault(shape, {})[core] = fms
            lines.append(f"| {shape} | {core} | {self.fmt_ms(bms)} | {self.fmt_ms(fms)} | "
                         f"{fmt(frate)} | {pct(over)} | {pct(paired)} |")
        for shape, fused in by_shape.items():
            if fused.get("hpk") and fused.get("onednn"):
                lines.append("")
                lines.append(f"{shape}: hpk fused / oneDNN fused, speed: "
                             f"{fused['onednn'] / fused['hpk']:.2f}.")
        lines += self.run_notes(shapes, libs, rows, errs)
        lines.append("")
        return lines

    # --- networks -----------------------------------------------------------------------------

    def render_net(self):
        shapes, _, rows, errs = self.conv_grid("net")
        results, missing = self.peers if self.peers else ({}, {})
        t = self.threads
        tcounts = [1] if t == 1 else [1, t]
        lines = [f"## {FAMILY_TITLES['net']}", ""]
        lines.append("ms per inference: each library's fastest run (hpk: the fastest timed run "
                     "over the repetitions; the peers: best of their R runs after warm-up; mean "
                     "of hpk's best repetition in parentheses). hpk/peer: the fastest peer's ms "
                     "over hpk's (> 1: hpk faster). Fusion speedup: hpk_nofusion ms / hpk ms. "
                     "The machine is shared: figures can move by 10 % or more between runs.")
        if self.runs > 1:
            lines.append("")
            lines.append(f"hpk and the peers ran in {self.runs} alternating rounds (run.sh, "
                         "HPK_BENCH_NET_ROUNDS), hpk first; each figure is the fastest over "
                         "all the rounds.")
        lines.append("")
        peer_cols = NET_PEERS
        lines.append("| network | threads | hpk | hpk_nofusion | " + " | ".join(peer_cols) +
                     " | fastest peer | hpk/peer | fusion speedup |")
        lines.append("|---|---|---|---|" + "---|" * (len(peer_cols) + 3))

        def hpk_ms(shape, lib):
            r = rows.get((shape, lib))
            if not r:
                return None, None
            b = r[1]
            return b.get("min_ms_all", b.get("min_ms")), b.get("ms")

        for shape in shapes:
            if shape == "randwire":
                continue
            for n in tcounts:
                suffix = ".1t" if (n == 1 and t > 1) else ""
                ms, mean = hpk_ms(shape, "hpk" + suffix)
                nf, nf_mean = hpk_ms(shape, "hpk_nofusion" + suffix)
                cells, best = [], None
                for p in peer_cols:
                    r = results.get((p, shape, n))
                    if r is None:
                        cells.append("missing")
                        continue
                    cells.append(self.fmt_ms(r["ms"]))
                    if best is None or r["ms"] < best[0]:
                        best = (r["ms"], p)
                cell = (lambda a, m: "–" if a is None else
                        f"{self.fmt_ms(a)} ({self.fmt_ms(m)})")
                ratio = best[0] / ms if best and ms else None
                speed = nf / ms if nf and ms else None
                lines.append(f"| {shape} | {n} | {cell(ms, mean)} | {cell(nf, nf_mean)} | " +
                             " | ".join(cells) +
                             f" | {best[1] + ' ' + self.fmt_ms(best[0]) if best else '–'} | "
                             f"{fmt(ratio, 2)} | {fmt(speed, 2)} |")
        lines.append("")
        versions = sorted({(r["lib"], r.get("version", "?")) for r in results.values()})
        if versions:
            lines.append("Peers: " + ", ".join(f"{lib} {v}" for lib, v in versions) + ".")
        for lib, why in sorted(missing.items()):
            lines.append(f"- `{lib}` missing: {why}")
        if self.peers is None:
            lines.append("- no peer results given (report.py --peers; bench/run.sh runs "
                         "bench/peers/ when the filter selects net rows)")
        lines.append("")

        # Memory and the passes, from the hpk rows (the run's thread count).
        lines.append("Memory (hpk_graph_exec_memory_stats, MB = 10^6 bytes, tensors rounded "
                     "to 64 B): naive = one buffer per tensor; arena = the planned arena; lower "
                     "bound = the most bytes live at once in the execution order. Nodes: "
                     "defined -> run after the passes.")
        lines.append("")
        lines.append("| network | compile | naive MB | arena MB | lower bound MB | "
                     "arena / lower bound | nodes | bn folded | act fused | residual fused | "
                     "concat in place |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for shape in shapes:
            for lib in ("hpk", "hpk_nofusion", "hpk_deforder"):
                r = rows.get((shape, lib))
                if not r:
                    continue
                b = r[1]
                ar, lb = b.get("arena_MB"), b.get("lower_bound_MB")
                what = {"hpk": "passes on", "hpk_nofusion": "disable_fusion",
                        "hpk_deforder": "keep_definition_order"}[lib]
                lines.append(f"| {shape} | {what} | {fmt(b.get('naive_MB'), 2)} | "
                             f"{fmt(ar, 2)} | {fmt(lb, 2)} | "
                             f"{fmt(ar / lb if ar and lb else None, 3)} | "
                             f"{int(b.get('nodes_def', 0))} -> {int(b.get('nodes_run', 0))} | "
                             f"{int(b.get('folded_bn', 0))} | {int(b.get('fused_act', 0))} | "
                             f"{int(b.get('fused_residual', 0))} | "
                             f"{int(b.get('concat_in_place', 0))} |")
        lines.append("")
        mn = rows.get(("mobilenetv2", "hpk"))
        if mn and mn[1].get("arena_MB"):
            a = mn[1]["arena_MB"]
            lines.append(f"- MobileNetV2 arena {a:.2f} MB vs the {MNV2_REF_MB} MB reference: "
                         f"{a / MNV2_REF_MB:.2f}x.")
        rw = rows.get(("randwire", "hpk"))
        if rw:
            b = rw[1]
            dp_a, dp_l = b.get("arena_MB"), b.get("lower_bound_MB")
            df_a, df_l = b.get("def_arena_MB"), b.get("def_lower_bound_MB")
            saved = 100.0 * (1 - dp_a / df_a) if dp_a and df_a else None
            lines.append(f"- randwire ({int(b.get('nodes_run', 0))} nodes run): least-memory "
                         f"order arena {fmt(dp_a, 2)} MB (lower bound {fmt(dp_l, 2)}) vs "
                         f"definition order arena {fmt(df_a, 2)} MB (lower bound {fmt(df_l, 2)})"
                         + (f": {saved:.1f} % less" if saved is not None else "") + ".")
            tms = [(lib, hpk_ms("randwire", lib)[0]) for lib in ("hpk", "hpk_deforder")]
            lines.append("- randwire ms: " + ", ".join(f"{lib} {self.fmt_ms(m)}"
                                                        for lib, m in tms) + ".")
        for (shape, lib), msg in errs.items():
            lines.append(f"- `net/{shape}/{lib}` not timed: {msg}")
        for shape in shapes:
            r = rows.get((shape, "hpk"))
            if r and r[1].get("max_rel_diff_vs_nofusion") is not None:
                lines.append(f"- {shape}: hpk's outputs vs the disable_fusion executable's "
                             "(1 thread), max |difference| / max |value|: "
                             f"{r[1]['max_rel_diff_vs_nofusion']:.1e}.")
        lines.append("")
        return lines

    def bandwidth_table(self, fam, libs):
        """GB/s of weights read and their % of the read-only roof of the run's thread count (the
        roofline/read row of this run, else the pct_read counter measured by the row itself)."""
        f = self.families[fam]
        roof = self.read_run
        src = (f"roofline/read of this run, {roof:.1f} GB/s" if roof
               else "the read bandwidth each row measured (pct_read)")
        out = [f"Weights streamed, GB/s (% of the read-only bandwidth: {src}; {self.tlabel}).", "",
               "| shape (M,N,K) | " + " | ".join(libs) + " |", "|---|" + "---|" * len(libs)]
        for shape in f["shapes"]:
            m, n, k = self.shape_dims(fam, shape)
            cells = []
            for lib in libs:
                row = f["rows"].get((shape, lib))
                gbps = row[1].get("GBps") if row else None
                if gbps is None:
                    cells.append("–")
                    continue
                pct = 100.0 * gbps / roof if roof else row[1].get("pct_read")
                cells.append(f"{gbps:.1f} ({fmt(pct, 0)} %)")
            out.append(f"| {shape} ({m},{n},{k}) | " + " | ".join(cells) + " |")
        out.append("")
        return out

    # --- plots ------------------------------------------------------------------------------

    def plots(self, prefix, gnuplot):
        made = []
        if "gemm_sq" in self.families:
            made.append(self.plot_sweep(prefix, gnuplot))
        if self.families:
            made.append(self.plot_roofline(prefix, gnuplot))
        return [m for m in made if m]

    def plot_sweep(self, prefix, gnuplot):
        f = self.families["gemm_sq"]
        libs = sorted(f["libs"], key=lib_rank)
        sizes = []
        for shape in f["shapes"]:
            m, _, _ = self.shape_dims("gemm_sq", shape)
            sizes.append((m, shape))
        sizes.sort()
        dat = prefix + "-sweep.dat"
        with open(dat, "w", encoding="utf-8") as out:
            out.write("# n " + " ".join(libs) + "\n")
            for n, shape in sizes:
                vals = [f["rows"].get((shape, lib)) for lib in libs]
                out.write(f"{n} " + " ".join(f"{v[0]:.3f}" if v else "NaN" for v in vals) + "\n")
        png = prefix + "-sweep.png"
        plots = [f"'{dat}' using 1:{i + 2} with linespoints lw 2 title '{lib}'"
                 for i, lib in enumerate(libs)]
        if self.peak_run:
            plots.append(f"{self.peak_run} with lines dt 2 lc rgb 'black' "
                         f"title 'FMA peak, {self.tlabel} ({self.peak_run:.0f})'")
        script = f"""
set terminal pngcairo size 1000,700 font ',11'
set output '{png}'
set title 'SGEMM, column-major NN, M = N = K, {self.tlabel}, warm (best repetition)'
set xlabel 'matrix size n (M = N = K)'
set ylabel 'GFLOP/s (FP32)'
set logscale x 2
set xrange [{sizes[0][0] / 1.2}:{sizes[-1][0] * 1.2}]
set yrange [0:*]
set grid
set key below horizontal
plot {', '.join(plots)}
"""
        return self.run_gnuplot(gnuplot, script, prefix + "-sweep.gp", png)

    def plot_roofline(self, prefix, gnuplot):
        dat = prefix + "-roofline.dat"
        groups = {}
        for fam, f in self.families.items():
            for (shape, lib), (rate, b) in f["rows"].items():
                core = re.sub(r"_(fused|separate|bare)$", "", lib)
                ai = b.get("AI")
                if ai:
                    groups.setdefault(core, []).append((ai, rate, f"{fam}/{shape}"))
        if not groups:  # no row with an intensity (the net family alone): no roofline
            return None
        libs = sorted(groups, key=lib_rank)
        with open(dat, "w", encoding="utf-8") as out:
            for lib in libs:
                out.write(f"# {lib}\n")
                for ai, rate, what in groups[lib]:
                    out.write(f"{ai:.4f} {rate:.3f} {what}\n")
                out.write("\n\n")
        all_ai = [p[0] for g in groups.values() for p in g]
        xmin, xmax = min(all_ai) / 2, max(all_ai) * 2
        png = prefix + "-roofline.png"
        plots = [f"'{dat}' index {i} using 1:2 with points pt {5 + (i % 9)} ps 1.3 title '{lib}'"
                 for i, lib in enumerate(libs)]
        defs = []
        peak = self.peak_run
        if peak:
            bw = self.triad_run
            if bw:
                defs.append(f"roof_triad(x) = ({bw} * x < {peak}) ? {bw} * x : {peak}")
                plots.insert(0, f"roof_triad(x) with lines lw 2 lc rgb 'black' "
                                f"title 'roof: FMA peak {peak:.0f} GFLOP/s, "
                                f"triad {bw:.1f} GB/s ({self.tlabel})'")
            if self.read_run:
                plots.insert(1, f"(({self.read_run} * x < {peak}) ? {self.read_run} * x : 1/0) "
                                f"with lines dt 2 lc rgb 'gray30' "
                                f"title 'read-only bandwidth {self.read_run:.1f} GB/s'")
        title = (f"Roofline, {self.tlabel}: every GEMM and convolution row of this run\\n"
                 "(intensity from compulsory traffic: operands read and the result written "
                 "once; warm rows may pass the memory roof)")
        script = f"""
set terminal pngcairo size 1000,800 font ',11'
set output '{png}'
set title "{title}"
set xlabel 'arithmetic intensity (FLOP/byte)'
set ylabel 'GFLOP/s (FP32)'
set logscale xy
set xrange [{xmin}:{xmax}]
set grid
set key below horizontal
set samples 400
{chr(10).join(defs)}
plot {', '.join(plots)}
"""
        return self.run_gnuplot(gnuplot, script, prefix + "-roofline.gp", png)

    @staticmethod
    def run_gnuplot(gnuplot, script, gp_path, png):
        with open(gp_path, "w", encoding="utf-8") as f:
            f.write(script)
        try:
            subprocess.run([gnuplot, gp_path], check=True, capture_output=True, text=True)
        except (OSError, subprocess.CalledProcessError) as e:
            err = getattr(e, "stderr", "") or str(e)
            print(f"report: gnuplot failed on {gp_path}: {err.strip()}", file=sys.stderr)
            return None
        return png


def load_peers(path):
    """({(lib, net, threads): record}, {lib: why missing}) from the peers' JSON lines."""
    results, missing = {}, {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                r = json.loads(line)
            except ValueError:
                continue
            lib = r.get("lib")
            if not lib:
                continue
            if "missing" in r:
                key = lib + (f" ({r['net']}, {r.get('threads')} threads)" if "net" in r else "")
                missing[key] = r["missing"]
            elif "ms" in r and "net" in r:
                key = (lib, r["net"], int(r.get("threads", 1)))
                if key not in results or r["ms"] < results[key]["ms"]:
                    results[key] = r
    return results, missing


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", nargs="+", help="hpk-bench JSON: the run, then further rounds")
    ap.add_argument("--out", help="prefix of the outputs (default: the JSON path without .json)")
    ap.add_argument("--gnuplot", default=os.environ.get("GNUPLOT") or shutil.which("gnuplot"))
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--peers", help="the net family's peer results (JSON lines)")
    args = ap.parse_args()
    prefix = args.out or re.sub(r"\.json$", "", args.json[0])

    context, best, order, errors = load(args.json)
    if not best:
        print(f"report: no benchmark rows in {', '.join(args.json)}", file=sys.stderr)
        return 1
    peers = load_peers(args.peers) if args.peers else None
    rep = Report(context, best, order, errors, peers, runs=len(args.json))
    head, summary, details = rep.markdown()
    pngs = []
    if not args.no_plots:
        if args.gnuplot:
            pngs = rep.plots(prefix, args.gnuplot)
        else:
            print("report: gnuplot not found (Debian: gnuplot-nox): no plots", file=sys.stderr)
    plots = ""
    if pngs:
        plots = "## Plots\n\n" + "\n".join(f"- ![{os.path.basename(p)}]({os.path.basename(p)})"
                                           for p in pngs) + "\n"
    with open(prefix + ".md", "w", encoding="utf-8") as f:
        f.write("\n".join([head, summary, details, plots]) + "\n")
    # On the terminal the summary comes last, where the eye lands.
    print(details)
    print(head)
    print(summary)
    print(f"Tables: {prefix}.md" + ("; plots: " + ", ".join(pngs) if pngs else "; no plots"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
