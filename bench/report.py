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
        big, small = f("credits_service", "p99_ms"), f("credits_small", "p99_ms")
        print(f"| credits read, {rows:,.0f} entries in all | {big:.2f} | 10,000 entries | {small:.2f} | {big / small:.2f} |")
        storm = f("credits_storm", "p99_ms")
        logins = f("logins_storm", "per_sec")
        print(f"| credits read, 32 clients logging in ({logins:,.0f} logins/s) | {storm:.2f} | at rest | {big:.2f} | {storm / big:.2f} |")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "pgbench":
        pgbench(*args)
    elif command == "table":
        table(args)
    else:
        sys.exit(__doc__)
