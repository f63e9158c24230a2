#!/usr/bin/env python3
"""
report.py: turns bench/run's raw.csv into the printed table of ratios,
summary.csv, and throughput.dat for throughput.gp.

    report.py DIR     reads DIR/raw.csv and DIR/meta.txt, writes into DIR

A ratio is the median over rounds of A/B, where A and B ran back to back in
the same round at the same client count; [min-max] is the spread of those
paired ratios.  For throughput higher is better, for time lower is better.
Targets are printed as PASS or MISS and never change the exit status.
"""
import csv
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path

# (label, section, A, B, client counts, {clients: (op, target)})
RATIOS = [
    ("shorten_url / raw INSERT", "shorten", "shorten_url", "raw_insert",
     (1, 8, 32), {8: (">=", 0.90)}),
    ("shorten_url / PL/pgSQL peer", "shorten", "shorten_url", "peer_shorten_url",
     (1, 8, 32), {8: (">=", 1.25)}),
    ("shorten_url_locked / PL/pgSQL locked twin", "shorten", "shorten_url_locked",
     "peer_shorten_url_locked", (1, 8, 32), {c: (">=", 1.0) for c in (1, 8, 32)}),
    ("shorten_url_locked / raw INSERT", "shorten", "shorten_url_locked", "raw_insert",
     (1, 8, 32), {}),
    ("resolve_url / raw UPDATE, random codes", "resolve", "resolve_random",
     "raw_update_random", (1, 8, 32), {8: (">=", 0.95)}),
    ("hot link: resolve_url one code / random codes", "hot_link", "resolve_hot",
     "resolve_random", (16,), {16: (">=", 0.70)}),
    ("hot link: resolve_url / raw UPDATE, one code", "hot_link", "resolve_hot",
     "raw_update_hot", (16,), {}),
    ("resolve_url beside open tx of 10k shorten_url / alone", "open_tx",
     "holder_with_subxacts", "alone", (8,), {}),
    ("resolve_url beside open tx of 10k shorten_url / beside open tx, no subxacts",
     "open_tx", "holder_with_subxacts", "holder_plain", (8,), {}),
    ("resolve_url beside open tx, no subxacts / alone", "open_tx",
     "holder_plain", "alone", (8,), {}),
    # Issue 13's targets for 100,000 calls in one transaction.
    ("time: 100k shorten_url in one tx / INSERT...SELECT", "bulk",
     "shorten_url_100k_in_one_tx", "insert_select_100k", (1,), {1: ("<=", 2.5)}),
    ("time: 100k PL/pgSQL peer in one tx / 100k shorten_url", "bulk",
     "peer_100k_in_one_tx", "shorten_url_100k_in_one_tx", (1,), {1: (">=", 1.6)}),
    ("time: shorten_urls(100k) / INSERT...SELECT", "bulk", "shorten_urls_100k",
     "insert_select_100k", (1,), {1: ("<=", 1.2)}),
]

XID_ROWS = [
    ("XIDs per call: shorten_url, autocommit", "shorten_url"),
    ("XIDs per call: shorten_url_locked, autocommit", "shorten_url_locked"),
    ("XIDs per call: PL/pgSQL peer, autocommit", "peer_shorten_url"),
    ("XIDs per call: PL/pgSQL locked twin, autocommit", "peer_shorten_url_locked"),
    ("XIDs per call: raw INSERT, autocommit", "raw_insert"),
    ("XIDs per call: shorten_url, 1,000 in one tx", "shorten_url_in_one_tx"),
]

SUBTRANS_ROWS = [
    ("pg_subtrans page lookups: resolve_url alone", "alone"),
    ("pg_subtrans page lookups: beside open tx, no subxacts", "holder_plain"),
    ("pg_subtrans page lookups: beside open tx of 10k shorten_url", "holder_with_subxacts"),
]

MEMORY_LIMIT = 1 << 20

PLOT_COLUMNS = ["shorten_url", "raw_insert", "peer_shorten_url", "shorten_url_locked",
                "peer_shorten_url_locked", "resolve_random", "raw_update_random"]


def load(directory):
    values = defaultdict(dict)      # (section, contender, clients) -> {round: value}
    units = {}
    with open(directory / "raw.csv", newline="") as f:
        for row in csv.DictReader(f):
            key = (row["section"], row["contender"], int(row["clients"]))
            values[key][int(row["round"])] = float(row["value"])
            units[key] = row["unit"]
    return values, units


def meta(directory):
    result = {}
    for line in (directory / "meta.txt").read_text().splitlines():
        name, _, value = line.partition("=")
        result[name] = value
    return result


def median_of(samples):
    finite = [v for v in samples if not math.isnan(v)]
    return statistics.median(finite) if finite else math.nan


def absolute(value, unit):
    if math.isnan(value):
        return "-"
    if unit == "tps":
        return f"{value:.0f} tps"
    if unit == "seconds":
        return f"{value:.3f} s"
    return f"{value:g}"


def verdict(ratio, target):
    if target is None:
        return "", ""
    op, bound = target
    text = f"{op}{bound:.2f}x"
    if math.isnan(ratio):
        return text, "-"
    ok = ratio >= bound if op == ">=" else ratio <= bound
    return text, "PASS" if ok else "MISS"


def ratio_rows(values, units):
    rows = []
    for label, section, a, b, client_counts, targets in RATIOS:
        for clients in client_counts:
            a_runs = values.get((section, a, clients), {})
            b_runs = values.get((section, b, clients), {})
            unit = units.get((section, a, clients)) or units.get((section, b, clients), "")
            target, result = verdict(math.nan, targets.get(clients))
            if unit == "not_implemented":
                rows.append([label, str(clients), "n/a", "(not implemented)",
                             target, "n/a", "-", absolute(median_of(b_runs.values()), "seconds")])
                continue
            paired = [a_runs[r] / b_runs[r] for r in a_runs
                      if r in b_runs and b_runs[r] and not math.isnan(a_runs[r] / b_runs[r])]
            ratio = statistics.median(paired) if paired else math.nan
            target, result = verdict(ratio, targets.get(clients))
            spread = f"[{min(paired):.2f}-{max(paired):.2f}]" if paired else ""
            rows.append([label, str(clients), f"{ratio:.2f}x", spread, target, result,
                         absolute(median_of(a_runs.values()), unit),
                         absolute(median_of(b_runs.values()), unit)])
    return rows


def memory_rows(values, info):
    calls = int(info.get("memory_calls", 0))
    small = median_of(values.get(("memory", "after_1000_calls", 1), {}).values())
    large = median_of(values.get(("memory", f"after_{calls}_calls", 1), {}).values())
    growth = large - small
    target = f"<={MEMORY_LIMIT // 1024} kB"
    result = "-" if math.isnan(growth) else ("PASS" if growth <= MEMORY_LIMIT else "MISS")
    label = f"memory: growth from 1,000 to {calls:,} shorten_url calls"
    if info.get("mode") == "quick":
        label += " (quick)"
    return [[label, "1", f"{growth / 1024:+.0f} kB", "", target, result,
             f"{large / 1024:.0f} kB", f"{small / 1024:.0f} kB"]]


def xid_rows(values):
    rows = []
    for label, contender in XID_ROWS:
        value = median_of(values.get(("xids", contender, 1), {}).values())
        rows.append([label, "1", f"{value:.3f}", "", "", "", "", ""])
    return rows


def subtrans_rows(values):
    rows = []
    for label, contender in SUBTRANS_ROWS:
        value = median_of(values.get(("subtrans", contender, 8), {}).values())
        rows.append([label, "8", f"{value:.0f}/s", "", "", "", "", ""])
    return rows


def print_table(rows, info):
    header = ["comparison (A / B)", "clients", "ratio", "[range]", "target", "verdict", "A", "B"]
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    right = {1, 2, 6, 7}

    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    print(f"url_shortener benchmark: {info.get('mode')} mode, {info.get('rounds')} rounds x "
          f"{info.get('seconds')} s per contender, synchronous_commit={info.get('synchronous_commit')}, "
          f"PostgreSQL {info.get('server')}, {info.get('cpus')} CPUs, commit {info.get('commit')}, "
          f"{info.get('date')}")
    print("ratio = median over rounds of A/B run back to back; A and B columns: medians")
    print(line(header))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))


def write_summary(directory, rows):
    with open(directory / "summary.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["comparison", "clients", "ratio", "range", "target", "verdict", "a", "b"])
        out.writerows(rows)


def write_plot_data(directory, values):
    sections = {c: ("resolve" if c.startswith(("resolve", "raw_update")) else "shorten")
                for c in PLOT_COLUMNS}
    with open(directory / "throughput.dat", "w") as f:
        f.write("# clients " + " ".join(PLOT_COLUMNS) + "\n")
        for clients in (1, 8, 32):
            medians = [median_of(values.get((sections[c], c, clients), {}).values())
                       for c in PLOT_COLUMNS]
            f.write(f"{clients} " + " ".join("NaN" if math.isnan(m) else f"{m:.1f}"
                                             for m in medians) + "\n")


def main():
    directory = Path(sys.argv[1])
    values, units = load(directory)
    info = meta(directory)
    rows = (ratio_rows(values, units) + subtrans_rows(values) + memory_rows(values, info)
            + xid_rows(values))
    print_table(rows, info)
    write_summary(directory, rows)
    write_plot_data(directory, values)


if __name__ == "__main__":
    main()
