"""Reads what bench/run measured and prints it side by side.

    python3 bench/report.py pgbench DIR SECS   summary line of pgbench's logs in DIR
    python3 bench/report.py table FILE...      the results table of BENCHMARKS.md
"""

import glob
import os
import re
import sys


def percentile(sorted_values, q):
    index = max(1, min(len(sorted_values), int(-(-len(sorted_values) * q // 1)))) - 1
    return sorted_values[index]


def pgbench(directory, secs):
    latencies = []
    for path in glob.glob(os.path.join(directory, "pgbench_log*")):
        with open(path) as log:
            for line in log:
                fields = line.split()
                latencies.append(int(fields[2]) / 1000.0)  # microseconds -> ms
    latencies.sort()
    summary = open(os.path.join(directory, "pgbench.txt")).read()
    tps = re.search(r"tps = ([0-9.]+)", summary)
    rate = float(tps.group(1)) if tps else len(latencies) / float(secs)
    print(
        f"requests={len(latencies)} per_sec={rate:.1f} "
        f"p50_ms={percentile(latencies, 0.50):.2f} p99_ms={percentile(latencies, 0.99):.2f}"
    )


def parse(path):
    runs = {}
    for line in open(path):
        key, _, rest = line.strip().partition(" ")
        runs[key] = dict(pair.split("=", 1) for pair in rest.split() if "=" in pair) or rest
    return runs


def table(paths):
    for path in paths:
        r = parse(path)
        f = lambda key, field: float(r[key][field])  # noqa: E731
        print(f"\n### {r['backend']}\n")
        print("| measurement | service | bare database | service / database |")
        print("|---|---|---|---|")

        def rate_row(name, key, unit):
            s, d = f(key + "_service", "per_sec"), f(key + "_direct", "per_sec")
            print(f"| {name} ({unit}) | {s:,.0f} | {d:,.0f} | {s / d:.2f} |")
            for q in ("p50_ms", "p99_ms"):
                s, d = f(key + "_service", q), f(key + "_direct", q)
                print(f"| {name}, {q[:3]} (ms) | {s:.2f} | {d:.2f} | {s / d:.2f} |")

        rate_row("credits read, 16 connections", "credits", "requests/s")
        rate_row("acceptance, 8 connections", "accept", "accepts/s")
        rows = f("export_service", "rows")
        s, d = rows / f("export_service", "seconds"), rows / f("export_direct", "seconds")
        print(f"| export of {rows:,.0f} entries as CSV (rows/s) | {s:,.0f} | {d:,.0f} | {s / d:.2f} |")
        s, d = f("export_service", "peak_rss_kb") / 1024, f("export_direct", "peak_rss_kb") / 1024
        before = f("export_service", "rss_before_kb") / 1024
        print(f"| export, peak RSS (MiB) | {s:.1f} (idle {before:.1f}) | {d:.1f} (client) | |")
        print("\n| measurement | p99 (ms) | against | p99 (ms) | ratio |")
        print("|---|---|---|---|---|")
        at_rest = f("credits_service", "p99_ms")
        storm = f("credits_storm", "p99_ms")
        logins = f("logins_storm", "per_sec")
        print(f"| credits read, 32 clients logging in ({logins:,.0f} logins/s) | {storm:.2f} | at rest | {at_rest:.2f} | {storm / at_rest:.2f} |")
        compare(r)


def compare(r):
    """The like-for-like credits comparison: one column per binary and round, in run order."""
    labels = [key[: -len("_credits")] for key in r if key.endswith("_credits")]
    if not labels:
        return
    f = lambda label, key, field: float(r[f"{label}_{key}"][field])  # noqa: E731
    print("\n| 16 connections | " + " | ".join(labels) + " |")
    print("|---|" + "---|" * len(labels))
    rows = [
        ("`GET /me`", "me"),
        ("credits, SME of the large set (20 waiting)", "credits"),
        ("credits, heavy SME (2,000 waiting)", "heavy"),
        ("credits, same SME in the small set", "small"),
    ]
    if any(f"{label}_recert" in r for label in labels):
        rows.append(("recertification progress, same SME, 5 certifications", "recert"))
    for name, key in rows:
        cells = [
            f"{f(label, key, 'per_sec'):,.0f} / {f(label, key, 'p99_ms'):.1f}" if f"{label}_{key}" in r else "—"
            for label in labels
        ]
        print(f"| {name}: requests/s / p99 ms | " + " | ".join(cells) + " |")
    ratios = [
        ("heavy / light SME, requests/s", lambda label: f(label, "heavy", "per_sec") / f(label, "credits", "per_sec")),
        ("heavy / light SME, p99", lambda label: f(label, "heavy", "p99_ms") / f(label, "credits", "p99_ms")),
        ("scale: large / small set, p99", lambda label: f(label, "credits", "p99_ms") / f(label, "small", "p99_ms")),
        ("scale: small / large set, requests/s", lambda label: f(label, "small", "per_sec") / f(label, "credits", "per_sec")),
        ("credits / `GET /me`, requests/s", lambda label: f(label, "credits", "per_sec") / f(label, "me", "per_sec")),
    ]
    if any(f"{label}_recert" in r for label in labels):
        ratios.append(
            ("recertification progress / credits, requests/s", lambda label: f(label, "recert", "per_sec") / f(label, "credits", "per_sec"))
        )
    for name, ratio in ratios:
        cells = []
        for label in labels:
            try:
                cells.append(f"**{ratio(label):.2f}**")
            except KeyError:
                cells.append("—")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "pgbench":
        pgbench(*args)
    elif command == "table":
        table(args)
    else:
        sys.exit(__doc__)
