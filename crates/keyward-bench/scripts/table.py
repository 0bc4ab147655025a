#!/usr/bin/env python3
"""Print the BENCHMARKS.md tables from target/criterion/*/*/*/new/estimates.json.

Usage: python3 crates/keyward-bench/scripts/table.py [target/criterion]
"""
import json
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"
ENTRIES = [
    "keyward_cbc", "keyward_gcm", "keyward_cbc_per_payload", "keyward_gcm_per_payload",
    "floor_cbc", "floor_gcm", "floor_cbc_reused", "floor_gcm_reused",
    "fernet", "cookie_private", "branca",
]
PEERS = ["fernet", "cookie_private", "branca"]
SIZES = ["32", "256", "4096", "65536"]


def median_ns(group, entry, size):
    path = os.path.join(root, group, entry, size, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"]
    except OSError:
        return None


def fmt(ns):
    if ns is None:
        return "–"
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


for group in ["protect", "unprotect"]:
    print(f"\n### {group}\n")
    print("| entry | " + " | ".join(f"{s} B" for s in SIZES) + " |")
    print("|---|" + "---|" * len(SIZES))
    for entry in ENTRIES:
        cells = []
        for size in SIZES:
            ns = median_ns(group, entry, size)
            cells.append("–" if ns is None else f"{fmt(ns)} ({1e9 / ns:,.0f}/s)")
        print(f"| {entry} | " + " | ".join(cells) + " |")
    r = lambda a, b: "–" if a is None or b is None else f"{a / b:.2f}×"
    m = lambda entry, size: median_ns(group, entry, size)
    print(f"\nRatios to the floors ({group}): `floor_*` is the issue's floor (KDF per payload), "
          "`floor_*_reused` the floor of a payload whose subkeys are already derived\n")
    print("| size | cbc ÷ floor_cbc | cbc ÷ floor_cbc_reused | cbc_per_payload ÷ floor_cbc "
          "| gcm ÷ floor_gcm | gcm ÷ floor_gcm_reused | gcm_per_payload ÷ floor_gcm |")
    print("|---|---|---|---|---|---|---|")
    for size in SIZES:
        print(f"| {size} B "
              f"| {r(m('keyward_cbc', size), m('floor_cbc', size))} "
              f"| {r(m('keyward_cbc', size), m('floor_cbc_reused', size))} "
              f"| {r(m('keyward_cbc_per_payload', size), m('floor_cbc', size))} "
              f"| {r(m('keyward_gcm', size), m('floor_gcm', size))} "
              f"| {r(m('keyward_gcm', size), m('floor_gcm_reused', size))} "
              f"| {r(m('keyward_gcm_per_payload', size), m('floor_gcm', size))} |")
    print(f"\nRatios to the best peer ({group})\n")
    print("| size | best peer | cbc ÷ best | gcm ÷ best | cbc_per_payload ÷ best | gcm_per_payload ÷ best |")
    print("|---|---|---|---|---|---|")
    for size in SIZES:
        peers = [(m(p, size), p) for p in PEERS]
        peers = [p for p in peers if p[0] is not None]
        best = min(peers) if peers else (None, "–")
        print(f"| {size} B | {best[1]} ({fmt(best[0])}) "
              f"| {r(m('keyward_cbc', size), best[0])} | {r(m('keyward_gcm', size), best[0])} "
              f"| {r(m('keyward_cbc_per_payload', size), best[0])} "
              f"| {r(m('keyward_gcm_per_payload', size), best[0])} |")

print("\n### unprotect with large key rings (256 B)\n")
print("| keys in ring | median | ÷ 1-key ring |")
print("|---|---|---|")
one = median_ns("unprotect_ring", "1", "256")
for keys in ["1", "100", "10000"]:
    ns = median_ns("unprotect_ring", keys, "256")
    ratio = "–" if ns is None or one is None else f"{ns / one:.3f}"
    print(f"| {keys} | {fmt(ns)} | {ratio} |")
