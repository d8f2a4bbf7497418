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
EVAL = ["closure", "flowc_jit", "flowc_vm", "zen", "cel", "rhai", "evalexpr"]
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
    print("Per evaluation (median ns; each iteration evaluates one condition on the next of 64 records):\n")
    print("| condition | " + " | ".join(EVAL) + " | fastest peer | VM vs peer | JIT vs peer | JIT vs closure |")
    print("|---" * (len(EVAL) + 5) + "|")
    totals = {e: [] for e in EVAL}
    for n in names:
        row = {e: m.get((e, n)) for e in EVAL}
        for e, v in row.items():
            totals[e].append(v)
        best_peer, best = min(((p, row[p]) for p in PEERS), key=lambda x: x[1])
        cells = [fmt(row[e]) for e in EVAL]
        print(
            f"| {n} | "
            + " | ".join(cells)
            + f" | {best_peer} | {ratio(best / row['flowc_vm'])} | {ratio(best / row['flowc_jit'])}"
            + f" | {row['flowc_jit'] / row['closure']:.1f}× |"
        )
    geo = {e: geomean(v) for e, v in totals.items()}
    best_peer = min(PEERS, key=lambda p: geo[p])
    print(
        "| **geometric mean** | "
        + " | ".join(f"**{fmt(geo[e])}**" for e in EVAL)
        + f" | {best_peer} | **{ratio(geo[best_peer] / geo['flowc_vm'])}** | **{ratio(geo[best_peer] / geo['flowc_jit'])}**"
        + f" | **{geo['flowc_jit'] / geo['closure']:.1f}×** |"
    )
    print("\nCompile time per condition (median):\n")
    print("| condition | " + " | ".join(COMPILE) + " | JIT break-even (evaluations) |")
    print("|---" * (len(COMPILE) + 2) + "|")
    for n in names:
        row = {e: m.get(("compile", e, n)) for e in COMPILE}
        saved = m[("flowc_vm", n)] - m[("flowc_jit", n)]
        even = f"{row['flowc_jit'] / saved:,.0f}" if saved > 0 else "never"
        print(f"| {n} | " + " | ".join(fmt(row[e]) for e in COMPILE) + f" | {even} |")


def geomean(values):
    product = 1.0
    for v in values:
        product *= v
    return product ** (1 / len(values))


if __name__ == "__main__":
    main()
