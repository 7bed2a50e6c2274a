#!/usr/bin/env python3
"""Writes compare.sh's markdown report to stdout.

Usage: report.py FACTS RESULTS_DIR SERVER...

FACTS holds key=value lines about the machine and the run. RESULTS_DIR
holds, per server and workload, SERVER-WORKLOAD.json as written by
`tributary bench --json`, or SERVER-WORKLOAD.err naming why there is none.
The first server is Tributary; the second is the null server (tributary
with --storage discard); the rest are the peers it is compared with.
"""

import json
import os
import sys

WORKLOADS = ["ingest", "drain", "latency", "shards"]

TITLES = {
    "ingest": "Ingest: PutRecords from concurrent producers",
    "drain": "Drain: GetRecords over a filled stream",
    "latency": "Latency: PutRecord to {path}",
    "shards": "Many shards: PutRecords spread over many shards",
}

LABELS = {
    "tributary": "Tributary",
    "null": "null server¹",
    "kinesalite": "kinesalite²",
    "kinesis-mock": "kinesis-mock³",
}

# (label, getter, format, lower is better). A row is shown when any server
# has the figure.
METRICS = [
    ("records/s", lambda w: w.get("records_per_sec"), "{:,.0f}", False),
    ("MB/s", lambda w: w.get("mb_per_sec"), "{:,.2f}", False),
    ("latency p50 (ms)", lambda w: w.get("latency_ms", {}).get("p50"), "{:,.2f}", True),
    ("latency p99 (ms)", lambda w: w.get("latency_ms", {}).get("p99"), "{:,.2f}", True),
    ("latency p99.9 (ms)", lambda w: w.get("latency_ms", {}).get("p99_9"), "{:,.2f}", True),
    ("latency max (ms)", lambda w: w.get("latency_ms", {}).get("max"), "{:,.2f}", True),
    ("PutRecord call p50 (ms)", lambda w: w.get("put_latency_ms", {}).get("p50"), "{:,.2f}", True),
    ("PutRecord call p99 (ms)", lambda w: w.get("put_latency_ms", {}).get("p99"), "{:,.2f}", True),
    ("read after the answer p99 (ms)", lambda w: w.get("read_after_answer_ms", {}).get("p99"), "{:,.2f}", True),
    ("failed records", lambda w: w.get("failed_records"), "{:,}", True),
    ("retried calls", lambda w: w.get("retried_calls"), "{:,}", True),
    ("RSS at end (MiB)", lambda w: mib(w.get("rss_end_bytes")), "{:,.0f}", True),
]


def mib(n):
    return None if n is None else n / (1 << 20)


def read_facts(path):
    facts = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("=")
            facts[key] = value
    return facts


def load(results, server, workload):
    """Returns {(record_size, path): entry} for the workload, or a reason
    string. path is the latency workload's read path, else None. An entry
    that failed (a run that failed part way keeps the results before the
    failure) is the string "failed"."""
    base = os.path.join(results, f"{server}-{workload}")
    try:
        with open(base + ".json") as f:
            doc = json.load(f)
    except FileNotFoundError:
        try:
            with open(base + ".err") as f:
                return f.read().strip() or "failed"
        except FileNotFoundError:
            return "not run"
    except json.JSONDecodeError:
        return "failed"
    entries = {}
    for w in doc.get("workloads") or []:
        if w.get("name") == workload:
            key = (w.get("record_size"), w.get("path"))
            entries[key] = "failed" if w.get("error") else w
    # A run that exited cleanly without the workload's figures failed too.
    return entries or "failed"


def size_label(size):
    if size is None:
        return ""
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024} KiB records"
    return f"{size} B records"


def params(entry):
    parts = []
    for key in ("producers", "shards"):
        if entry.get(key) is not None:
            n = entry[key]
            parts.append(f"{n} {key if n != 1 else key[:-1]}")
    if entry.get("duration_s") is not None:
        parts.append(f"{entry['duration_s']:.2f} s")
    if entry.get("records") is not None:
        parts.append(f"{entry['records']:,} records")
    if entry.get("offered_rate") is not None:
        parts.append(f"{entry['offered_rate']:,.0f} records/s offered")
    if entry.get("poll_interval_ms") is not None:
        parts.append(f"GetRecords again at once after records, {entry['poll_interval_ms']:g} ms after an empty answer")
    return ", ".join(parts)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}×"


def main():
    facts_path, results, *servers = sys.argv[1:]
    facts = read_facts(facts_path)
    tributary, null, peers = servers[0], servers[1], servers[2:]
    data = {(s, w): load(results, s, w) for s in servers for w in WORKLOADS}

    out = []
    p = out.append
    p("# Tributary compared with kinesalite and kinesis-mock")
    p("")
    p(f"Run on {facts['date']} by `bench/compare.sh`.")
    p("")
    p("## Machine")
    p("")
    p(f"- CPU: {facts['cpu']}, {facts['nproc']} logical CPUs (nproc)")
    p(f"- Memory: {facts['memory']}")
    p(f"- Disk holding Tributary's data: {facts['disk']}")
    p(f"- Kernel: {facts['kernel']}")
    p("")
    p("## Versions")
    p("")
    p(f"- Tributary: {facts['tributary']}")
    p(f"- Go: {facts['go']}")
    p(f"- Node.js: {facts['node']}")
    p(f"- kinesalite: {facts['kinesalite']}")
    p(f"- kinesis-local (kinesis-mock): {facts['kinesis-local']}")
    p("")
    p("## Command")
    p("")
    p("```")
    env = f"BENCH_FLAGS='{facts['bench_flags']}'"
    if facts.get("kinesalite_storage", "memory") != "memory":
        env += f" KINESALITE_STORAGE={facts['kinesalite_storage']}"
    if facts.get("tributary_flags"):
        env += f" TRIBUTARY_FLAGS='{facts['tributary_flags']}'"
    p(f"{env} bench/compare.sh")
    p("```")
    p("")
    p(f"The bench client and all four servers share the machine's {facts['nproc']} "
      "CPUs; the servers not being measured sit idle. With few CPUs or short "
      "runs the figures are noisy: compare orders of magnitude, and rerun "
      "before trusting a difference of a few tens of percent.")
    p("")
    p("Each workload ran on its own against each server in turn:")
    p("")
    p("```")
    p(f"tributary bench --endpoint http://127.0.0.1:PORT --workload W --json FILE --pid PID {facts['bench_flags']}")
    p("```")
    p("")
    p("Servers, as started ($tmp is a temporary directory):")
    p("")
    p("```")
    for s in servers:
        p(f"{s}: {facts.get('cmd.' + s, '?')}")
    p("```")

    for w in WORKLOADS:
        keys = set()
        for s in servers:
            if isinstance(data[(s, w)], dict):
                keys.update(data[(s, w)])
        if not keys:
            keys = {(None, None)} if w != "latency" else {(None, "GetRecords"), (None, "SubscribeToShard")}
        for key in sorted(keys, key=lambda k: (k[0] is None, k[0] or 0, k[1] or "")):
            size, path = key
            title = TITLES[w].format(path=path or "a reader")
            title += f", {size_label(size)}" if size is not None else ""
            p("")
            p(f"## {title}")
            p("")

            def entry(s):
                d = data[(s, w)]
                if isinstance(d, str):
                    return d
                return d.get(key, "failed")

            ref = entry(tributary)
            if isinstance(ref, dict) and params(ref):
                p(f"Tributary's run: {params(ref)}.")
                p("")
            head = ["", *(LABELS.get(s, s) for s in servers)]
            head += [f"Tributary / {s}" for s in peers]
            p("| " + " | ".join(head) + " |")
            p("|" + "---|" + "---:|" * (len(head) - 1))
            failed_row = all(isinstance(entry(s), str) for s in servers)
            for label, get, fmt, lower in METRICS:
                # The latency writer sends at a fixed rate, so its rate
                # says nothing about the server.
                if w == "latency" and label in ("records/s", "MB/s"):
                    continue
                vals = {s: get(entry(s)) if isinstance(entry(s), dict) else None for s in servers}
                if all(v is None for v in vals.values()) and not failed_row:
                    continue
                failed_row = False
                cells = []
                for s in servers:
                    e = entry(s)
                    if isinstance(e, str):
                        cells.append(e)
                    elif vals[s] is None:
                        cells.append("–")
                    else:
                        cells.append(fmt.format(vals[s]))
                cells += [ratio(vals[tributary], vals[s]) for s in peers]
                name = label + (" ↓" if lower else "")
                p("| " + " | ".join([name, *cells]) + " |")

    p("")
    p("## Tributary's ingest as a fraction of the null server's")
    p("")
    t, n = data[(tributary, "ingest")], data[(null, "ingest")]
    if isinstance(t, dict) and isinstance(n, dict):
        for key in sorted(set(t) & set(n), key=lambda k: (k[0] is None, k[0] or 0)):
            size = key[0]
            if isinstance(t[key], str) or isinstance(n[key], str):
                p(f"- {size_label(size) or 'all records'}: – (a run failed)")
                continue
            a, b = t[key].get("records_per_sec"), n[key].get("records_per_sec")
            frac = f"{100 * a / b:.0f}%" if a is not None and b else "–"
            p(f"- {size_label(size) or 'all records'}: {frac} "
              f"({a or 0:,.0f} of {b or 0:,.0f} records/s)")
    else:
        p("Not available: an ingest run failed.")

    kinesalite_storage = facts.get("kinesalite_storage", "memory")
    p("")
    p("---")
    p("")
    p("↓ lower is better; elsewhere higher is better. A ratio above 1× means "
      "Tributary's figure is larger than the peer's. “failed” means the "
      "workload (or that part of it) ended with an error; “timed out” that it "
      "ran out of the per-server time; “n/a” that it does not apply.")
    p("")
    p("Tributary stores records on disk in its default mode "
      + ("(fsync before acknowledging each write)" if "interval" not in facts.get("tributary_flags", "") else f"({facts['tributary_flags']})")
      + "; "
      + ("both peers keep them in memory." if kinesalite_storage == "memory"
         else "kinesalite on disk too, kinesis-mock in memory."))
    p("")
    p("¹ Tributary with `--storage discard`: the same HTTP, protocol and stream "
      "layers over an engine that acknowledges records and throws them away, so "
      "its reads return nothing. It bounds what Tributary can reach. The drain "
      "and latency workloads, which read records back, are not run against it.")
    if kinesalite_storage == "memory":
        p("² kinesalite with its default in-memory store (memdown), no `--path`.")
    else:
        p("² kinesalite with an on-disk LevelDB store (`--path`).")
    p("³ kinesis-mock (npm kinesis-local) with its default in-memory store "
      "(`SHOULD_PERSIST_DATA=false`).")
    print("\n".join(out))


if __name__ == "__main__":
    main()
