#!/usr/bin/env python3
"""Writes compare.sh's markdown report to stdout.

Usage: report.py FACTS RESULTS_DIR SERVER...

FACTS holds key=value lines about the machine and the run. RESULTS_DIR
holds, per server and workload, SERVER-WORKLOAD.json as written by
`tributary bench --json`, or SERVER-WORKLOAD.err naming why there is none.
The first server is Tributary; the second is the null server (tributary
with --storage discard); the rest are the peers it is compared with, among
them stdnull (tributary bench serve-null), the yardstick of issue 16.
For Tributary, SERVER-WORKLOAD.metrics-before and -after hold its
/metrics scraped around the workload, for the storage figures.
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
    "stdnull": "stdlib null⁴",
}

# Issue 16's goals, as fractions of the stdlib null's figure: durable
# ingest at its rate, drain at 90 % of it.
GOALS = {"ingest": 1.0, "drain": 0.9}

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
    ("server CPU per record (µs)", lambda w: w.get("server_cpu_us_per_record"), "{:,.2f}", True),
]

# A row shown only with several rounds: every round's records/s, in the
# order they ran.
ROUNDS_ROW = ("records/s, each round", lambda w: w.get("rounds_records_per_sec"))


def scrape(path):
    """Returns {(name, labels): value} from a Prometheus text file."""
    samples = {}
    try:
        with open(path) as f:
            for line in f:
                if not line.strip() or line.startswith("#"):
                    continue
                series, _, value = line.rstrip("\n").rpartition(" ")
                name, _, labels = series.partition("{")
                try:
                    samples[(name, labels.rstrip("}"))] = float(value)
                except ValueError:
                    pass
    except FileNotFoundError:
        return None
    return samples


def delta(before, after, name, label_part=""):
    """The growth of the sum of name's series whose labels contain
    label_part."""
    total = 0.0
    for (n, labels), v in after.items():
        if n == name and label_part in labels:
            total += v - before.get((n, labels), 0.0)
    return total


def mib(n):
    return None if n is None else n / (1 << 20)


CLK_TCK = 0  # clock ticks per second, from the facts


def read_facts(path):
    facts = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("=")
            facts[key] = value
    return facts


def load_round(base, workload):
    """Returns {(record_size, path): entry} for one round of the workload
    (files base.json, base.err, base.cpu), or a reason string. path is the
    latency workload's read path, else None. An entry that failed (a run
    that failed part way keeps the results before the failure) is the
    string "failed"."""
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
    # The server's CPU over the whole workload (all its record sizes and
    # paths), per record: the clock ticks compare.sh read before and after.
    try:
        with open(base + ".cpu") as f:
            ticks = [int(x) for x in f.read().split()]
        done = [e for e in entries.values() if isinstance(e, dict)]
        records = sum(e.get("records") or 0 for e in done)
        if len(ticks) == 2 and records and CLK_TCK:
            per = (ticks[1] - ticks[0]) / CLK_TCK / records * 1e6
            for e in done:
                e["server_cpu_us_per_record"] = per
    except (FileNotFoundError, ValueError):
        pass
    # A run that exited cleanly without the workload's figures failed too.
    return entries or "failed"


def paired(mine, theirs):
    """Round-by-round ratios of two entries' records/s, and their median."""
    if not isinstance(mine, dict) or not isinstance(theirs, dict):
        return "–"
    a, b = mine.get("rounds_records_per_sec") or [], theirs.get("rounds_records_per_sec") or []
    ratios = [100 * x / y for x, y in zip(a, b) if x and y]
    if not ratios:
        return "–"
    mid = sorted(ratios)[len(ratios) // 2]
    return " / ".join(f"{r:.0f} %" for r in ratios) + f" (**{mid:.0f} %**)"


def median_entry(entries):
    """The entry of the median round: by records/s where the workload has
    a rate, else by latency p99. Each round's records/s is kept on it."""
    def rank(e):
        rate = e.get("records_per_sec")
        if rate and e.get("name") != "latency":
            return rate
        return (e.get("latency_ms") or {}).get("p99") or 0
    ordered = sorted(entries, key=rank)
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["rounds_records_per_sec"] = [e.get("records_per_sec") for e in entries]
    return chosen


def load(results, server, workload, rounds):
    """Returns {(record_size, path): entry} for the workload over its
    rounds, each entry its median round's, or a reason string when no
    round has figures."""
    per_round = [load_round(os.path.join(results, f"{server}-{workload}.r{r}"), workload)
                 for r in range(1, rounds + 1)]
    done = [r for r in per_round if isinstance(r, dict)]
    if not done:
        return per_round[0]
    out = {}
    for key in sorted({k for r in done for k in r}, key=lambda k: (k[0] is None, k[0] or 0, k[1] or "")):
        ok = [r[key] for r in done if isinstance(r.get(key), dict)]
        out[key] = median_entry(ok) if ok else "failed"
    return out


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
    global CLK_TCK
    CLK_TCK = int(facts.get("clk_tck") or 0)
    tributary, null, peers = servers[0], servers[1], servers[2:]
    rounds = int(facts.get("rounds") or 1)
    data = {(s, w): load(results, s, w, rounds) for s in servers for w in WORKLOADS}

    out = []
    p = out.append
    p("# Tributary compared with " + ", ".join(LABELS.get(s, s).rstrip("¹²³⁴") for s in servers[1:]))
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
    if "node" in facts:
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
    if facts.get("workloads") and facts["workloads"].split() != WORKLOADS:
        env += f" WORKLOADS='{facts['workloads']}'"
    if facts.get("rounds", "1") != "1":
        env += f" ROUNDS={facts['rounds']}"
    if facts.get("servers") and facts["servers"].split() != ["tributary", "null", "stdnull", "kinesalite", "kinesis-mock"]:
        env += f" SERVERS='{facts['servers']}'"
    p(f"{env} bench/compare.sh")
    p("```")
    p("")
    p(f"The bench client and all {len(servers)} servers share the machine's {facts['nproc']} "
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
        if all(data[(s, w)] == "not run" for s in servers):
            continue  # left out with WORKLOADS
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
                if w == "latency" and label in ("records/s", "MB/s", "server CPU per record (µs)"):
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
            if rounds > 1 and w != "latency":
                label, get = ROUNDS_ROW
                cells = []
                for s in servers:
                    e = entry(s)
                    rs = get(e) if isinstance(e, dict) else None
                    cells.append(" / ".join(f"{x:,.0f}" for x in rs if x is not None) if rs else (e if isinstance(e, str) else "–"))
                p("| " + " | ".join([label, *cells, *(["–"] * len(peers))]) + " |")

    p("")
    p("## Tributary's records/s as a fraction of the null servers'")
    p("")
    p("Issue 16's goals: durable ingest at the stdlib null's rate (100 %), "
      "drain at 90 % of it. The discard null is Tributary's own stack "
      "without storage."
      + (f" Each figure is its median of {rounds} rounds." if rounds > 1 else ""))
    p("")
    yard = "stdnull" if "stdnull" in servers else None
    head = ["workload", "Tributary"]
    head += ["discard null", "Tributary / discard null"]
    if yard:
        head += ["stdlib null", "Tributary / stdlib null", "goal"]
        if rounds > 1:
            # The servers take turns within a round, so a round's two
            # figures met the same load on the machine: their ratio, round
            # by round, cancels the load that drifts across a run, which
            # the medians taken apart do not.
            head += ["paired rounds (their median)"]
    p("| " + " | ".join(head) + " |")
    p("|---|" + "---:|" * (len(head) - 1))
    for w in ("ingest", "drain"):
        t = data[(tributary, w)]
        if not isinstance(t, dict):
            p(f"| {w} | {t} |" + " |" * (len(head) - 2))
            continue
        for key in sorted(t, key=lambda k: (k[0] is None, k[0] or 0)):
            if not isinstance(t[key], dict):
                continue
            a = t[key].get("records_per_sec")
            row = [f"{w}, {size_label(key[0])}", f"{a or 0:,.0f}"]
            for other in [null] + ([yard] if yard else []):
                o = data[(other, w)]
                oe = o.get(key) if isinstance(o, dict) else None
                b = oe.get("records_per_sec") if isinstance(oe, dict) else None
                row += [f"{b:,.0f}" if b else (o if isinstance(o, str) else "–"),
                        f"{100 * a / b:.0f} %" if a and b else "–"]
            if yard:
                row.append(f"{100 * GOALS[w]:.0f} %")
                if rounds > 1:
                    row.append(paired(t[key], data[(yard, w)].get(key) if isinstance(data[(yard, w)], dict) else None))
            p("| " + " | ".join(row) + " |")

    storage_rows = []
    for w in WORKLOADS:
        # The first round's, as the profile's.
        before = scrape(os.path.join(results, f"{tributary}-{w}.r1.metrics-before"))
        after = scrape(os.path.join(results, f"{tributary}-{w}.r1.metrics-after"))
        t = data[(tributary, w)]
        if before is None or after is None or not isinstance(t, dict):
            continue
        secs = sum(e.get("duration_s") or 0 for e in t.values() if isinstance(e, dict))
        groups = delta(before, after, "tributary_storage_group_commit_records_count")
        records = delta(before, after, "tributary_storage_group_commit_records_sum")
        fsyncs = delta(before, after, "tributary_storage_fsyncs_total")
        journal = delta(before, after, "tributary_storage_fsyncs_total", 'file="journal"')
        fsync_s = delta(before, after, "tributary_storage_fsync_duration_seconds_sum", 'file="journal"')
        fsync_n = delta(before, after, "tributary_storage_fsync_duration_seconds_count", 'file="journal"')
        if groups == 0:
            continue
        mean_ms = 1000 * fsync_s / fsync_n if fsync_n else None
        storage_rows.append((w, secs, groups, records, fsyncs, journal, mean_ms))
    if storage_rows:
        p("")
        p("## Tributary's storage during each workload")
        p("")
        p("From its /metrics before and after the workload (the whole run, "
          "stream creation and deletion included; rates over the timed part). "
          "A group commit is one journal write and one fsync acknowledging "
          "every append queued while the previous one ran, across shards.")
        p("")
        p("| workload | group commits | records per commit | journal fsyncs/s | mean journal fsync (ms) | all fsyncs | fsyncs/s |")
        p("|---|---:|---:|---:|---:|---:|---:|")
        for w, secs, groups, records, fsyncs, journal, mean_ms in storage_rows:
            rate = (lambda n: f"{n / secs:,.0f}") if secs else (lambda n: "–")
            mean = f"{mean_ms:.2f}" if mean_ms is not None else "–"
            p(f"| {w} | {groups:,.0f} | {records / groups:,.1f} | {rate(journal)} | {mean} | {fsyncs:,.0f} | {rate(fsyncs)} |")

    top = os.path.join(results, f"{tributary}-ingest.pprof.txt")
    if os.path.exists(top):
        with open(top) as f:
            lines = f.read().rstrip("\n").split("\n")
        p("")
        p("## Where Tributary's ingest time goes")
        p("")
        p("A CPU profile of the server during the first seconds of its ingest "
          "workload (the admin API's /_tributary/debug/pprof/profile), its "
          "top functions by own time (`go tool pprof -top`):")
        p("")
        p("```")
        for line in lines:
            if line.startswith(("File:", "Build ID:", "Type:", "Time:")):
                continue
            p(line)
        p("```")

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
    p("Server CPU per record is the server process's user and system time "
      "over the whole workload (its record sizes together, stream creation "
      "and, for drain, the filling of the stream included) divided by the "
      "records the workload counted; it is what a server sharing its cores "
      "with its clients runs out of, and the figure least disturbed by "
      "other load on the machine.")
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
    p("⁴ `tributary bench serve-null`: a null endpoint written with the "
      "standard library alone (encoding/json, MD5 routing, records kept in "
      "memory so that drain and latency have something to read, no "
      "validation, limits or durability): what a server that does only the "
      "protocol's work, plainly, reaches with the same client. It does not "
      "serve SubscribeToShard, so that latency path fails against it.")
    print("\n".join(out))


if __name__ == "__main__":
    main()
