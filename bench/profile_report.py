#!/usr/bin/env python3
"""
profile_report.py: the per-call table of bench/profile.

    profile_report.py DIR     reads DIR/*.callgrind, DIR/*.native, DIR/meta.txt;
                              writes DIR/ratios.tsv (the ratios it prints last)

For each workload, the callgrind dump of its measured statement gives the
instructions of every call edge (caller -> callee, inclusive of
everything the callee ran).  A bucket is a set of functions; its cost is
the sum of the edges entering the set from outside it, so a function
calling itself (or another member) is not counted twice.  Every figure is
divided by the number of calls in the statement.  Microseconds are
estimated as the bucket's share of the statement's instructions times the
statement's backend CPU time without valgrind (user + system, median of
the native runs): an estimate that assumes every instruction costs the
same, and kernel time is spread over all buckets alike (callgrind counts
user-space instructions only).
"""
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

# The rows of the table: (label, whose, regex of function names).  The
# rows above the line are disjoint (no function of one row runs inside
# another row's), so with the last row, everything else, they add up to
# the whole statement.  The rows below the line are parts of rows above.
ROWS = [
    ("URL validation (uriparser, host checks)", "ours",
     r"valid_url_argument\(.*|ensure_valid_url\(.*"),
    ("code drawing (pool of pg_strong_random, map, reserved words)", "ours",
     r"draw_code\(.*|is_unusable_code\(.*|derive_code\(.*"),
    ("search-path guard (override path push and pop)", "ours",
     r"push_search_path_guard\(.*|pop_search_path_guard\(.*"),
    ("link store lookup and capacity check (syscache)", "ours",
     r"open_link_store\(.*|warn_if_code_space_filling\(\)|estimated_link_count\(\)"),
    ("gen_random_bytes (pgcrypto: pg_strong_random per call)", "pg", r"pg_random_bytes"),
    ("GUC work of a SET clause (nest level, set, reset)", "pg",
     r"NewGUCNestLevel|AtEOXact_GUC|ProcessGUCArray"),
    ("SPI_connect + SPI_finish", "pg", r"SPI_connect|SPI_finish"),
    ("subtransaction start and commit", "pg",
     r"BeginInternalSubTransaction|ReleaseCurrentSubTransaction|RollbackAndReleaseCurrentSubTransaction"),
    ("plan cache check and snapshot of the SPI statement", "pg",
     r"GetCachedPlan|ReleaseCachedPlan|GetTransactionSnapshot|CommandCounterIncrement"),
    ("executor start (ExecutorStart)", "pg", r"ExecutorStart"),
    ("CHECK constraints (ExecConstraints, or the direct insert's)", "pg",
     r"ExecConstraints|row_meets_constraints\(.*"),
    ("indexes opened and closed (ExecOpenIndices, ExecCloseIndices)", "pg",
     r"ExecOpenIndices|ExecCloseIndices"),
    ("heap insert or update", "pg", r"heap_insert|heap_update"),
    ("index insert (btree, unique check)", "pg", r"ExecInsertIndexTuples"),
    ("index lookup (index_getnext_slot)", "pg", r"index_getnext_slot"),
    ("executor end (ExecutorFinish, ExecutorEnd)", "pg", r"ExecutorEnd|ExecutorFinish"),
]
PARTS = [
    ("of the CHECK constraints: reading their stored text (stringToNode)", "pg",
     r"stringToNode", r"ExecConstraints"),
    ("of the CHECK constraints: planning and compiling them (ExecPrepareExpr)", "pg",
     r"ExecPrepareExpr", r"ExecConstraints|evaluate_deferred_check\(.*"),
    ("of executor start: the module's copies of the CHECK constraint trees", "ours",
     r"defer_constraint_exprs\(.*", None),
    ("WAL records (XLogInsert, in heap and index rows)", "pg", r"XLogInsert", None),
    ("pg_strong_random (OpenSSL RAND_bytes)", "pg", r"pg_strong_random", None),
    ("XID assignment (GetNewTransactionId)", "pg", r"GetNewTransactionId", None),
    ("commit of the statement's transaction", "pg", r"CommitTransactionCommand", None),
    ("the direct insert, inclusive (defaults, checks, heap, indexes)", "ours",
     r"store_rows?\(.*", None),
    ("the module's C entry point, inclusive", "ours",
     r"shorten_url|shorten_url_locked|shorten_urls|resolve_url", None),
    ("the PL/pgSQL handler, inclusive", "pg", r"plpgsql_call_handler", None),
]

# Column heads, in the order of the tables.
ONE_TX = {
    "shorten_url": "shorten_url",
    "with_set": "with SET",
    "peer": "peer",
    "insert_select": "INS..SEL",
    "shorten_urls": "shorten_urls",
    "resolve_url": "resolve_url",
    "peer_resolve": "peer resolve",
    "peer_nocheck": "peer noCHECK",
    "peer_domains": "peer domains",
    "peer_1_2_checks": "peer 1.2 CHK",
    "peer_on_conflict": "peer ONCONFL",
    "shorten_url_parse_each": "shorten off",
    "resolve_url_parse_each": "resolve off",
    "alias": "alias",
    "idempotency_key": "key",
    "reuse": "reuse",
    "limits": "limits",
}
AUTOCOMMIT = {
    "shorten_url_ac": "shorten_url",
    "peer_ac": "peer",
    "raw_insert_ac": "raw INSERT",
    "locked_ac": "locked",
    "peer_locked_ac": "peer locked",
    "resolve_url_ac": "resolve_url",
    "raw_update_ac": "raw UPDATE",
}


def strip(name):
    """Drops callgrind's recursion suffix ('2) from a function name."""
    return re.sub(r"'\d+$", "", name)


def parse(path):
    """Returns (total, edges, calls, n): instructions of the dump; per
    (caller, callee) the inclusive instructions and the number of calls;
    and the calls the measured statements made (bench/profile's header)."""
    names = {}
    edges = defaultdict(int)
    counts = defaultdict(int)
    total = 0
    fn = None
    cfn = None
    pending_call = None
    name_re = re.compile(r"\((\d+)\)(?: (.*))?")

    def resolve(text):
        m = name_re.match(text)
        if not m:
            return strip(text)
        if m.group(2) is not None:
            names[m.group(1)] = strip(m.group(2))
        return names[m.group(1)]

    calls_per_statement = 0
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            if line.startswith("# calls: "):
                calls_per_statement = int(line.split()[2])
            elif line.startswith("fn="):
                fn = resolve(line[3:])
            elif line.startswith("cfn="):
                cfn = resolve(line[4:])
            elif line.startswith("calls="):
                pending_call = int(line[6:].split()[0])
            elif line[0] in "0123456789+-*":
                parts = line.split()
                cost = int(parts[1]) if len(parts) > 1 else 0
                if pending_call is not None:
                    edges[(fn, cfn)] += cost
                    counts[(fn, cfn)] += pending_call
                    pending_call = None
                else:
                    total += cost
            elif line.startswith("summary:"):
                pass
    return total, edges, counts, calls_per_statement


def bucket_cost(edges, counts, pattern, caller_pattern=None):
    member = re.compile(rf"(?:{pattern})")
    within = re.compile(rf"(?:{caller_pattern})") if caller_pattern else None
    cost = calls = 0
    for (caller, callee), c in edges.items():
        if within and not within.fullmatch(caller or ""):
            continue
        if member.fullmatch(callee) and not member.fullmatch(caller or ""):
            cost += c
            calls += counts[(caller, callee)]
    return cost, calls


def read_meta(directory):
    meta = {}
    path = directory / "meta.txt"
    if path.exists():
        for line in path.read_text().splitlines():
            k, _, v = line.partition("=")
            meta[k] = v
    return meta


def load(directory, name):
    total, edges, counts, n = parse(directory / f"{name}.callgrind")
    # No native runs (bench/profile --native-runs 0): instructions only.
    path = directory / f"{name}.native"
    native = [line.split() for line in path.read_text().splitlines() if line.strip()] \
        if path.exists() else []
    entry = {"name": name, "total": total, "edges": edges, "counts": counts, "n": n,
             "native": native, "cpu": None, "system": None, "native_n": 0, "us": None}
    if native:
        entry["cpu"] = statistics.median(float(u) + float(s) for u, s, *_ in native)
        entry["system"] = statistics.median(float(s) for _, s, *_ in native)
        entry["native_n"] = int(native[0][3])
        # microseconds of native backend CPU per call
        entry["us"] = entry["cpu"] * 1e6 / entry["native_n"]
    return entry


def table(title, heads, columns, value, prec):
    width = 13
    print()
    print(title)
    print(f"{'':<74}" + "".join(f"{heads[c['name']]:>{width}}" for c in columns))

    def line(label, cells):
        print(f"{label:<74}" + "".join(f"{v:>{width},.{prec}f}" for v in cells))

    for label, whose, pattern in ROWS:
        cells = [value(c, bucket_cost(c["edges"], c["counts"], pattern)[0]) for c in columns]
        if any(round(v, prec) != 0 for v in cells):
            line(f"{label} [{whose}]", cells)
    line("everything else (outer statement, fmgr, PL/pgSQL, executor run, commit)",
         [value(c, c["total"] - sum(bucket_cost(c["edges"], c["counts"], p)[0] for _, _, p in ROWS))
          for c in columns])
    line("WHOLE, per call", [value(c, c["total"]) for c in columns])
    print("  parts of the rows above:")
    for label, whose, pattern, caller in PARTS:
        cells = [value(c, bucket_cost(c["edges"], c["counts"], pattern, caller)[0]) for c in columns]
        if any(round(v, prec) != 0 for v in cells):
            line("  " + label, cells)


def report(heads, columns, what):
    if not columns:
        return
    table(f"{what}: instructions per call (callgrind: user space, exact and repeatable; "
          f"{columns[0]['n']:,} calls)",
          heads, columns, lambda c, cost: cost / c["n"], 0)
    if any(c["us"] is None for c in columns):
        return
    table(f"{what}: microseconds per call, estimated (the row's share of the instructions times "
          f"the native backend CPU time per call, {columns[0]['native_n']:,} calls)",
          heads, columns, lambda c, cost: cost / c["total"] * c["us"] if c["total"] else 0, 2)


def main():
    directory = Path(sys.argv[1])
    meta = read_meta(directory)
    one_tx = [load(directory, w) for w in ONE_TX if (directory / f"{w}.callgrind").exists()]
    autocommit = [load(directory, w) for w in AUTOCOMMIT if (directory / f"{w}.callgrind").exists()]

    print(f"bench/profile: {meta.get('server', '')}; extension {meta.get('extension', '?')}, "
          f"commit {meta.get('commit', '?')}, module {meta.get('module', '?')}; "
          f"{meta.get('date', '')}, load {meta.get('load', '?')}")
    report(ONE_TX, one_tx, "One transaction")
    report(AUTOCOMMIT, autocommit, "Autocommit (PREPARE, then one EXECUTE per call)")

    print()
    print("Native runs: backend CPU of the measured statements, user+system seconds:")
    for c in one_tx + autocommit:
        entry_calls = bucket_cost(c["edges"], c["counts"],
                                  r"shorten_url|shorten_url_locked|resolve_url|plpgsql_call_handler")[1]
        check = f"; entry calls per call {entry_calls / c['n']:.2f}" if entry_calls else ""
        if c["us"] is None:
            print(f"  {c['name']:<17} no native runs{check}")
            continue
        print(f"  {c['name']:<17} {c['native_n']:>7,} calls: "
              + ", ".join(f"{float(u):.3f}+{float(s):.3f}" for u, s, *_ in c["native"])
              + f"; median {c['us']:.2f} us per call, system {c['system']:.3f} s{check}")

    by = {c["name"]: c for c in one_tx + autocommit}
    ratios = []

    def ratio(a, b, label):
        if a in by and b in by:
            x, y = by[a], by[b]
            instructions = (x["total"] / x["n"]) / (y["total"] / y["n"])
            native = x["us"] / y["us"] if x["us"] and y["us"] else None
            ratios.append(f"{a}\t{b}\t{instructions:.4f}\t"
                          + (f"{native:.4f}" if native is not None else "-"))
            print(f"  {label}: {instructions:.2f}x in instructions"
                  + (f", {native:.2f}x in native CPU" if native is not None else ""))
    print()
    print("Ratios, per call:")
    ratio("peer", "shorten_url", "one tx: peer / shorten_url (issue 13: >= 1.6x)")
    ratio("shorten_url", "insert_select", "one tx: shorten_url / INSERT ... SELECT (issue 13: <= 2.5x)")
    ratio("shorten_urls", "insert_select", "one tx: shorten_urls / INSERT ... SELECT (issue 13: <= 1.2x)")
    ratio("alias", "insert_select", "one tx: shorten_url with an alias / INSERT ... SELECT")
    ratio("idempotency_key", "insert_select", "one tx: shorten_url with an idempotency key / INSERT ... SELECT")
    ratio("reuse", "insert_select", "one tx: shorten_url with reuse, a new URL / INSERT ... SELECT")
    ratio("limits", "insert_select", "one tx: shorten_url with expires_at and max_clicks / INSERT ... SELECT")
    ratio("with_set", "shorten_url", "one tx: with SET / shorten_url (what the SET clause costs)")
    ratio("resolve_url", "peer_resolve", "one tx: resolve_url / PL/pgSQL resolve peer")
    ratio("peer", "peer_nocheck", "one tx: peer / the same without the CHECK constraints")
    ratio("peer", "peer_domains", "one tx: peer / the same with domains for the one-column checks")
    ratio("peer", "peer_1_2_checks", "one tx: peer / the same with 1.2's three CHECKs")
    ratio("peer", "peer_on_conflict", "one tx: peer / the same with ON CONFLICT instead of EXCEPTION")
    ratio("peer_ac", "shorten_url_ac", "autocommit: peer / shorten_url (pgbench target 1.25x: tps of "
          "shorten_url / peer)")
    ratio("shorten_url_ac", "raw_insert_ac", "autocommit: shorten_url / raw INSERT")
    ratio("locked_ac", "peer_locked_ac", "autocommit: shorten_url_locked / its PL/pgSQL twin "
          "(pgbench target: tps ratio >= 1.0x)")
    ratio("resolve_url_ac", "raw_update_ac", "autocommit: resolve_url / raw UPDATE (pgbench target: "
          "tps ratio >= 0.95x, so cost ratio <= 1.05x)")
    # The same ratios for a program to read (test/instructions/run):
    # WORKLOAD, BASELINE, instructions per call of one over the other,
    # native CPU per call of one over the other ("-" without native runs).
    (directory / "ratios.tsv").write_text("".join(line + "\n" for line in ratios))


if __name__ == "__main__":
    main()
