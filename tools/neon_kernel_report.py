#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Static report on the NEON SGEMM microkernels: what the compiler made of each k loop.

Disassembles each NEON microkernel object of an aarch64 build with aarch64-linux-gnu-objdump -d,
finds the inner k loop of every microkernel (of the innermost loops -- a backward branch and its
target, holding no other -- the one with the most FMLA by element: the activations' polynomials
use FMLA too, but never by element), and reports per k step:

  - FMAs: vector FMLA, which must be MR * NR / 4 (every accumulator updated once per k step);
  - vector loads: registers loaded from A~/B~ (an LDP of two q registers counts 2) and the load
    instructions issuing them; with packed panels (MR + NR) / 4 registers;
  - stack spills: loads and stores addressed from sp inside the loop, which must be 0;
  - the FMA share: FMLA / all instructions of the loop (branch and pointer updates included),
    next to the theoretical 24 / 29 of BLIS's 8x12 (24 FMLA, 5 loads, loop overhead ignored).

The k steps per loop iteration are not taken from the FMA count (that would make the FMA check
circular) but from the bytes the loop loads from memory other than the stack: one k step reads
MR floats of A and NR floats of B~, so k steps = bytes / (4 (MR + NR)).

Everything here is static: instruction counts of the compiled loop, no measurement. Exit status:
0, or 1 when a kernel's loop spills, its FMA count per k step differs from MR * NR / 4, or its
k steps per iteration are not a whole number; 2 when the objects or objdump are missing.

usage: tools/neon_kernel_report.py [--asm] [BUILDDIR]
       BUILDDIR: default build/aarch64; the objects of kernels/arm_neon must have been built
       there (see .ci/run's aarch64 stage). --asm also prints each loop's instructions.
"""
import glob
import os
import re
import shutil
import subprocess
import sys

OBJDUMP = os.environ.get("OBJDUMP", "aarch64-linux-gnu-objdump")
# A kernel, or a part of it GCC split off (name.part.0, name.cold, ...).
KERNEL_RE = re.compile(r"^(hpk_sgemm_ukernel_(\d+)x(\d+)__neon)(\..*)?$")
FUNC_RE = re.compile(r"^[0-9a-f]+ <([^>]+)>:$")
INSN_RE = re.compile(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$")
BRANCH_RE = re.compile(r"^(b|b\.\w+|cbz|cbnz|tbz|tbnz)$")
BLIS_8X12 = (24, 29)  # FMLA and instructions per k step of BLIS's 8x12 (24 FMLA + 5 loads)


def disassemble(path):
    """{function: [(address, mnemonic, operands)]} of an object file."""
    out = subprocess.run([OBJDUMP, "-d", "--no-show-raw-insn", path], check=True,
                         capture_output=True, text=True).stdout
    funcs, cur = {}, None
    for line in out.splitlines():
        m = FUNC_RE.match(line)
        if m:
            cur = funcs.setdefault(m.group(1), [])
            continue
        m = INSN_RE.match(line)
        if m and cur is not None:
            ops = m.group(3).split("//")[0].strip()
            cur.append((int(m.group(1), 16), m.group(2), ops))
    return funcs


def branch_target(ops):
    m = re.search(r"\b([0-9a-f]+) <", ops)
    return int(m.group(1), 16) if m else None


def loops(insns):
    """(start index, end index) of every backward branch's loop, inclusive."""
    index = {addr: i for i, (addr, _, _) in enumerate(insns)}
    found = []
    for i, (addr, mnem, ops) in enumerate(insns):
        if BRANCH_RE.match(mnem):
            t = branch_target(ops)
            if t is not None and t <= addr and t in index:
                found.append((index[t], i))
    return found


def vector_regs(ops):
    """Vector registers written by a load: q0 / {v0.4s, v1.4s} / {v0.4s-v2.4s} / {v0.s}[1]."""
    dst = ops.split("[")[0] if not ops.startswith("{") else ops[: ops.index("}") + 1]
    m = re.match(r"\{v(\d+)\.\w+\s*-\s*v(\d+)\.\w+\}", dst)
    if m:
        return (int(m.group(2)) - int(m.group(1))) % 32 + 1
    return len(re.findall(r"\b[qdsv]\d+", dst))


def load_bytes(mnem, ops):
    """Bytes read by a SIMD&FP load, or 0 for anything else."""
    if mnem in ("ldr", "ldur", "ldp", "ldnp"):
        regs = re.findall(r"\b([qdsbh])\d+\b", ops.split("[")[0])
        size = {"q": 16, "d": 8, "s": 4, "h": 2, "b": 1}
        return sum(size[r] for r in regs)
    if mnem.startswith("ld1") or mnem.startswith("ld2") or mnem.startswith("ld3") or \
            mnem.startswith("ld4"):
        dst = ops[: ops.index("}") + 1]
        lane = re.search(r"\}\[\d+\]", ops) is not None or mnem.endswith("r")
        arr = re.search(r"\.(\d*)([bhsd])", dst)
        elem = {"b": 1, "h": 2, "s": 4, "d": 8}[arr.group(2)]
        count = int(arr.group(1)) if arr.group(1) else 1
        per_reg = elem if lane else elem * count
        return per_reg * vector_regs(ops)
    return 0


def is_simd_load(mnem, ops):
    if mnem.startswith("ld1") or mnem.startswith("ld2") or mnem.startswith("ld3") or \
            mnem.startswith("ld4"):
        return True
    return mnem in ("ldr", "ldur", "ldp", "ldnp") and re.match(r"[qdsbh]\d+", ops) is not None


def uses_stack(ops):
    return re.search(r"\[sp\b", ops) is not None


def innermost(found):
    """The loops that hold no other loop (a branch back to an earlier shared block makes a
    'loop' spanning most of a function; the k loops are the innermost ones)."""
    return [(s, e) for s, e in found
            if not any((s2, e2) != (s, e) and s <= s2 and e2 <= e for s2, e2 in found)]


def analyse(name, parts, mr, nr):
    """parts: the instruction lists of the kernel's function and of any part split off it."""
    candidates = []
    for insns in parts:
        inner = innermost(loops(insns))
        for s, e in inner:
            body = insns[s:e + 1]
            by_lane = sum(1 for _, mn, ops in body
                          if mn == "fmla" and "]" in ops.split(",")[-1])
            candidates.append((by_lane, -(e - s), s, e, id(insns), insns))
    if not candidates:
        return None
    _, _, s, e, _, insns = max(candidates, key=lambda c: c[:4])
    body = insns[s:e + 1]
    fmla = sum(1 for _, mn, _ in body if mn == "fmla")
    spills = [(mn, ops) for _, mn, ops in body
              if (mn.startswith("ld") or mn.startswith("st")) and uses_stack(ops)]
    loads = [(mn, ops) for _, mn, ops in body if is_simd_load(mn, ops) and not uses_stack(ops)]
    nbytes = sum(load_bytes(mn, ops) for mn, ops in loads)
    regs = sum(vector_regs(ops) for _, ops in loads)
    steps = nbytes / (4.0 * (mr + nr))
    return {
        "name": name, "mr": mr, "nr": nr, "insns": len(body), "fmla": fmla,
        "load_insns": len(loads), "load_regs": regs, "bytes": nbytes, "steps": steps,
        "spills": len(spills), "loops": len(candidates),  # innermost loops
        "start": body[0][0], "end": body[-1][0], "body": body,
        "func_bytes": sum(len(p) * 4 for p in parts),
    }


def main(argv):
    args = [a for a in argv[1:] if a != "--asm"]
    show_asm = len(args) != len(argv) - 1
    build = args[0] if args else "build/aarch64"
    if shutil.which(OBJDUMP) is None:
        print(f"error: {OBJDUMP} not found (binutils-aarch64-linux-gnu)", file=sys.stderr)
        return 2
    objs = sorted(glob.glob(os.path.join(build, "kernels", "arm_neon", "*sgemm_*.o")))
    if not objs:
        print(f"error: no kernels/arm_neon/*sgemm_*.o under {build}: build the aarch64 tree "
              "first (.ci/run's aarch64 stage, or configure --host=aarch64-linux-gnu && make)",
              file=sys.stderr)
        return 2
    results = []
    for obj in objs:
        kernels = {}
        for fname, insns in disassemble(obj).items():
            m = KERNEL_RE.match(fname)
            if m:
                kernels.setdefault((m.group(1), int(m.group(2)), int(m.group(3))), []).append(
                    insns)
        for (kname, mr, nr), parts in sorted(kernels.items()):
            r = analyse(kname, parts, mr, nr)
            if r is not None:
                results.append(r)
    if not results:
        print("error: no NEON microkernel found in the objects", file=sys.stderr)
        return 2

    print("NEON SGEMM microkernels: static analysis of the compiled inner k loop "
          "(instruction counts, not measurements)")
    print(f"objects: {build}/kernels/arm_neon ({OBJDUMP})\n")
    hdr = ("kernel", "k/iter", "FMLA/k", "want", "vec loads/k", "want", "load insns/k",
           "spills", "insns/k", "FMA share")
    rows = []
    bad = 0
    for r in sorted(results, key=lambda r: -r["mr"] * r["nr"]):
        steps = r["steps"]
        whole = steps >= 1 and abs(steps - round(steps)) < 1e-9
        k = round(steps) if whole else steps
        want_fma = r["mr"] * r["nr"] // 4
        want_loads = (r["mr"] + r["nr"]) / 4
        fma_k = r["fmla"] / k if k else float("nan")
        ok = whole and r["spills"] == 0 and fma_k == want_fma
        bad += not ok
        rows.append((r["name"], f"{k:g}", f"{fma_k:g}", f"{want_fma}",
                     f"{r['load_regs'] / k:g}", f"{want_loads:g}", f"{r['load_insns'] / k:g}",
                     f"{r['spills']}", f"{r['insns'] / k:g}",
                     f"{100.0 * r['fmla'] / r['insns']:.1f} %" + ("" if ok else "  FAIL")))
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(hdr)]
    print("  ".join(h.ljust(w) for h, w in zip(hdr, widths)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
    print(f"\nreference: BLIS 8x12 (armv8a), theoretical {BLIS_8X12[0]} FMLA of "
          f"{BLIS_8X12[1]} instructions per k step = {100.0 * BLIS_8X12[0] / BLIS_8X12[1]:.1f} % "
          "(5 vector loads, loop overhead not counted)")
    for r in results:
        print(f"{r['name']}: loop at {r['start']:#x}..{r['end']:#x} (of {r['loops']} innermost "
              "loops), "
              f"{r['insns']} instructions per iteration ({r['fmla']} FMLA, {r['load_insns']} "
              f"loads of {r['bytes']} B), code {r['func_bytes']} B")
        if show_asm:
            for addr, mn, ops in r["body"]:
                print(f"    {addr:6x}:  {mn:8s} {ops}")
    if bad:
        print(f"\n{bad} kernel(s) FAIL: stack traffic in the k loop, or FMLA per k step not "
              "MR*NR/4", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
