#!/usr/bin/env python3
"""Turns the output of `cargo bench --bench peers` (divan) into the
markdown tables of docs/performance.md: median ns per evaluation per
engine and condition, ratios, compile times and the JIT's break-even point.

Usage: cargo bench --bench peers | tee peers.txt && python3 table.py < peers.txt
"""

import re
import sys

UNITS = {"ps": 1e-3, "ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}
TREE = "│├╰─ "
EVAL = ["closure", "flowc_jit", "flowc_vm", "zen", "cel", "rhai", "evalexpr"]  # per call
PEERS = ["zen", "cel", "rhai", "evalexpr"]
COMPILE = ["flowc_vm", "flowc_jit", "zen", "cel", "rhai", "evalexpr"]


def nanoseconds(text):
    number, unit = text.split()
    return float(number) * UNITS[unit]


def parse(lines):
    """{(group path), arg: median ns} from divan's tree."""
    medians = {}
    path = []
    for line in lines:
        stripped = line.lstrip(TREE)
        depth = (len(line) - len(stripped)) // 3
        if not stripped or depth == 0:
            continue
        cells = [c.strip() for c in stripped.split("│")]
        name = cells[0].split()[0]
        path = path[: depth - 1] + [name]
        if len(cells) >= 3 and re.search(r"\d", cells[2]):
            medians[tuple(path)] = nanoseconds(cells[2])
    return medians


def fmt(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    if ns >= 100:
        return f"{ns:.0f} ns"
    return f"{ns:.1f} ns"


def ratio(x):
    return f"{x:.0f}×" if x >= 10 else f"{x:.1f}×"


def main():
    m = parse(sys.stdin.read().splitlines())
    names = [p[1] for p in m if len(p) == 2 and p[0] == "closure"]
    rows = {}
    for n in names:
        r = {e: m.get((e, n)) for e in EVAL}
        r["closure_sweep"] = m[("sweep", "closure", n)] / 64
        r["flowc_jit_sweep"] = m[("sweep", "flowc_jit", n)] / 64
        r["best"] = min(PEERS, key=lambda p: r[p])
        rows[n] = r
    cols = ["closure", "closure_sweep", "flowc_jit", "flowc_jit_sweep", "flowc_vm"] + PEERS
    heads = ["closure", "closure (sweep)", "JIT", "JIT (sweep)", "VM"] + PEERS
    print("Median ns per evaluation (each iteration evaluates one condition on the next of 64 records; sweeps evaluate all 64 per iteration, divided by 64):\n")
    print("| condition | " + " | ".join(heads) + " |")
    print("|---" * (len(cols) + 1) + "|")
    geo = {}
    for c in cols:
        geo[c] = geomean([rows[n][c] for n in names])
    for n in names:
        print(f"| {n} | " + " | ".join(fmt(rows[n][c]) for c in cols) + " |")
    print("| **geometric mean** | " + " | ".join(f"**{fmt(geo[c])}**" for c in cols) + " |")

    print("\nRatios (× faster than the fastest peer on that condition; JIT ÷ closure, lower is better):\n")
    print("| condition | fastest peer | VM vs peer | JIT vs peer | JIT (sweep) vs peer | JIT ÷ closure | JIT (sweep) ÷ closure (sweep) |")
    print("|---" * 7 + "|")
    gr = {k: [] for k in ["vm", "jit", "sweep", "jc", "sc"]}
    for n in names:
        r = rows[n]
        best = r[r["best"]]
        vals = {
            "vm": best / r["flowc_vm"],
            "jit": best / r["flowc_jit"],
            "sweep": best / r["flowc_jit_sweep"],
            "jc": r["flowc_jit"] / r["closure"],
            "sc": r["flowc_jit_sweep"] / r["closure_sweep"],
        }
        for k, v in vals.items():
            gr[k].append(v)
        print(
            f"| {n} | {r['best']} ({fmt(best)}) | {ratio(vals['vm'])} | {ratio(vals['jit'])} | {ratio(vals['sweep'])}"
            f" | {vals['jc']:.1f}× | {vals['sc']:.1f}× |"
        )
    g = {k: geomean(v) for k, v in gr.items()}
    print(
        f"| **geometric mean** | | **{ratio(g['vm'])}** | **{ratio(g['jit'])}** | **{ratio(g['sweep'])}**"
        f" | **{g['jc']:.1f}×** | **{g['sc']:.1f}×** |"
    )

    print("\nCompile time per condition (median) and the JIT's break-even point (JIT compile time ÷ VM time saved per evaluation):\n")
    print("| condition | " + " | ".join(COMPILE) + " | break-even (evaluations) |")
    print("|---" * (len(COMPILE) + 2) + "|")
    evens = []
    for n in names:
        row = {e: m.get(("compile", e, n)) for e in COMPILE}
        saved = rows[n]["flowc_vm"] - rows[n]["flowc_jit"]
        even = row["flowc_jit"] / saved if saved > 0 else float("inf")
        evens.append(even)
        print(f"| {n} | " + " | ".join(fmt(row[e]) for e in COMPILE) + f" | {even:,.0f} |")
    cg = {e: geomean([m[("compile", e, n)] for n in names]) for e in COMPILE}
    print(
        "| **geometric mean** | "
        + " | ".join(f"**{fmt(cg[e])}**" for e in COMPILE)
        + f" | **{geomean(evens):,.0f}** |"
    )


def geomean(values):
    product = 1.0
    for v in values:
        product *= v
    return product ** (1 / len(values))


if __name__ == "__main__":
    main()
