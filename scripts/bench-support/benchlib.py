#!/usr/bin/env python3
"""Helpers for scripts/bench (standard library only). Subcommands:

  ports N                      N distinct free loopback TCP ports, one per line
  render TEMPLATE OUT K=V...   copy TEMPLATE to OUT with every @K@ replaced by V (all must be used)
  nginx-string FILE            FILE's content, checked to be safe inside an nginx '...' string
  tree PID...                  the PIDs and all their descendants, space-separated
  proc PID...                  JSON: CPU ticks (utime+stime), peak RSS (VmHWM) and RSS summed over
                               each PID and all its descendants, with the process list
  wrk-record FILE ...          parse wrk output FILE, append one record to the runs file, print a line
  openloop-record FILE ...     the same for an openloop.py JSON result
  log-statuses LOG FROM [TO]   HTTP statuses counted in Sluice's request log lines between two offsets
  json-get KEY                 read JSON on stdin, print the value of KEY (dotted path)
  report RUNS METADIR OUT      the markdown results (printed, and written to OUT)
"""

import json
import os
import re
import socket
import statistics
import sys


# ---------------------------------------------------------------------------------------------
# small tools

def cmd_ports(n):
    socks, ports = [], []
    for _ in range(int(n)):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    print("\n".join(str(p) for p in ports))


def cmd_render(template, out, *pairs):
    text = open(template).read()
    for pair in pairs:
        key, _, value = pair.partition("=")
        token = "@%s@" % key
        if token not in text:
            sys.exit("render: %s has no %s" % (template, token))
        text = text.replace(token, value)
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        sys.exit("render: %s: unfilled placeholders %s" % (template, ", ".join(sorted(set(left)))))
    with open(out, "w") as f:
        f.write(text)


def cmd_nginx_string(path):
    text = open(path).read().strip()
    json.loads(text)  # must be valid JSON
    for bad in ("'", "\\", "$", "\n"):
        if bad in text:
            sys.exit("nginx-string: %s contains %r, which an nginx '...' string would not keep" % (path, bad))
    sys.stdout.write(text)


def cmd_json_get(key):
    value = json.load(sys.stdin)
    for part in key.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    print(value)


# ---------------------------------------------------------------------------------------------
# /proc

def _children_map():
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(name))
    return children


def process_tree(roots):
    children = _children_map()
    seen, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        if pid in seen or not os.path.exists("/proc/%d" % pid):
            continue
        seen.append(pid)
        todo.extend(children.get(pid, []))
    return seen


def proc_info(roots):
    pids = process_tree(roots)
    ticks, hwm, rss, threads, procs = 0, 0, 0, 0, []
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                stat = f.read()
            with open("/proc/%d/status" % pid) as f:
                status = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        # fields[0] is field 3 (state): utime is field 14, stime 15
        t = int(fields[11]) + int(fields[12])
        ticks += t
        kv = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        h = int(kv.get("VmHWM", "0 kB").split()[0])
        r = int(kv.get("VmRSS", "0 kB").split()[0])
        n = int(kv.get("Threads", "1").split()[0])
        hwm += h
        rss += r
        threads += n
        procs.append({"pid": pid, "comm": comm, "ticks": t, "hwm_kb": h, "rss_kb": r, "threads": n})
    return {"ticks": ticks, "hz": os.sysconf("SC_CLK_TCK"), "hwm_kb": hwm, "rss_kb": rss,
            "threads": threads, "procs": procs}


def cmd_proc(*pids):
    print(json.dumps(proc_info([int(p) for p in pids])))


def cmd_tree(*pids):
    print(" ".join(str(p) for p in process_tree([int(p) for p in pids])))


# ---------------------------------------------------------------------------------------------
# wrk output and Sluice's log

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def to_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m|h)$", text.strip())
    if not m:
        return None
    return float(m.group(1)) * UNITS[m.group(2)]


def parse_wrk(text):
    out = {"non2xx": 0, "socket_errors": {}, "percentiles_ms": {}, "statuses": {}, "samples": {}}
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
    if m:
        out["requests"] = int(m.group(1))
        out["seconds"] = float(m.group(2)) * UNITS[m.group(3)] / 1000.0
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        out["rps"] = float(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        out["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        out["socket_errors"] = {k: int(v) for k, v in zip(("connect", "read", "write", "timeout"), m.groups()) if int(v)}
    for p, value in re.findall(r"^\s+(\d+(?:\.\d+)?)%\s+(\S+)\s*$", text, re.M):
        out["percentiles_ms"][p] = to_ms(value)
    m = re.search(r"^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M)
    if m:
        out["latency_avg_ms"] = to_ms(m.group(1))
        out["latency_max_ms"] = to_ms(m.group(3))
    for code, n in re.findall(r"^status (\d+) (\d+)$", text, re.M):
        out["statuses"][code] = int(n)
    for code, body in re.findall(r"^sample (\d+) (.*)$", text, re.M):
        out["samples"][code] = body
    return out


STATUS_RE = re.compile(rb"sluice\.status=(\d+)")


def log_statuses(path, start, end=None):
    """Statuses of Sluice's one-line-per-request log between two byte offsets, and the number
    of lines logged at warning, error or critical level there."""
    counts, problems, examples = {}, 0, []
    if not os.path.exists(path):
        return {"statuses": counts, "problem_lines": 0, "examples": []}
    with open(path, "rb") as f:
        f.seek(int(start))
        data = f.read() if end is None else f.read(max(0, int(end) - int(start)))
    for line in data.splitlines():
        m = STATUS_RE.search(line)
        if m and b" request" in line:
            code = m.group(1).decode()
            counts[code] = counts.get(code, 0) + 1
            if not code.startswith("2") and len(examples) < 3:
                examples.append(line.decode("utf-8", "replace")[:400])
        elif re.search(rb"^\S+ (warning|error|critical) ", line):
            problems += 1
            if len(examples) < 3:
                examples.append(line.decode("utf-8", "replace")[:400])
    return {"statuses": counts, "problem_lines": problems, "examples": examples}


def cmd_log_statuses(path, start, end=None):
    print(json.dumps(log_statuses(path, start, end)))


# ---------------------------------------------------------------------------------------------
# records

def _opts(argv):
    opts = {}
    it = iter(argv)
    for a in it:
        if not a.startswith("--"):
            sys.exit("expected --name value, got %r" % a)
        opts[a[2:]] = next(it)
    return opts


def _append(runs, record):
    with open(runs, "a") as f:
        f.write(json.dumps(record) + "\n")


def _flag(record):
    bad = []
    if record.get("non2xx"):
        bad.append("%d non-2xx" % record["non2xx"])
    errs = record.get("socket_errors") or record.get("errors") or {}
    if errs:
        bad.append("errors " + ", ".join("%s %d" % kv for kv in errs.items()))
    statuses = {k: v for k, v in (record.get("statuses") or {}).items() if not k.startswith("2")}
    if statuses:
        bad.append("statuses " + ", ".join("%s×%d" % kv for kv in sorted(statuses.items())))
    if record.get("log", {}).get("problem_lines"):
        bad.append("%d warning/error lines in Sluice's log" % record["log"]["problem_lines"])
    return ("  !! " + "; ".join(bad)) if bad else ""


def cmd_wrk_record(path, *argv):
    """wrk-record FILE --runs R --target T --kind K --round N [--cpu-before J --cpu-after J]
    [--log LOG --log-from A --log-to B]"""
    o = _opts(argv)
    text = open(path).read()
    rec = {"target": o["target"], "kind": o["kind"], "round": int(o["round"])}
    rec.update(parse_wrk(text))
    if "rps" not in rec:
        rec["failed"] = text.strip()[-500:]
    if "cpu-before" in o:
        before, after = json.loads(o["cpu-before"]), json.loads(o["cpu-after"])
        rec["cpu_ticks"] = after["ticks"] - before["ticks"]
        rec["hz"] = after["hz"]
        if rec.get("requests"):
            rec["cpu_us_per_req"] = rec["cpu_ticks"] / float(rec["hz"]) / rec["requests"] * 1e6
    if "log" in o:
        rec["log"] = log_statuses(o["log"], o["log-from"], o.get("log-to"))
        rec["statuses"] = rec["log"]["statuses"] or rec["statuses"]
    _append(o["runs"], rec)
    line = "    %-8s %-10s" % (rec["target"], rec["kind"])
    if "rps" in rec:
        line += " %9.1f req/s, %d requests" % (rec["rps"], rec.get("requests", 0))
        pct = rec["percentiles_ms"]
        if rec["kind"] == "lat1" and pct:
            line += ", p50 %.3f ms, p99 %.3f ms" % (pct.get("50", float("nan")), pct.get("99", float("nan")))
        if "cpu_us_per_req" in rec:
            line += ", %.1f µs CPU/req" % rec["cpu_us_per_req"]
    else:
        line += " wrk FAILED: " + rec["failed"].replace("\n", " | ")
    print(line + _flag(rec))
    for code, body in rec.get("samples", {}).items():
        print("      sample %s: %s" % (code, body))
    for ex in rec.get("log", {}).get("examples", []):
        print("      log: %s" % ex)


def cmd_openloop_record(path, *argv):
    """openloop-record FILE --runs R --target T --kind K --round N [--log LOG --log-from A --log-to B]"""
    o = _opts(argv)
    text = open(path).read().strip()
    rec = {"target": o["target"], "kind": o["kind"], "round": int(o["round"])}
    try:
        rec.update(json.loads(text.splitlines()[-1]))
    except (ValueError, IndexError):
        rec["failed"] = text[-500:]
    if "log" in o:
        rec["log"] = log_statuses(o["log"], o["log-from"], o.get("log-to"))
    _append(o["runs"], rec)
    line = "    %-8s %-10s" % (rec["target"], rec["kind"])
    if "failed" in rec:
        line += " FAILED: " + rec["failed"].replace("\n", " | ")
    elif rec.get("mode") == "rate":
        lat, lag = rec["latency_ms"], rec["send_lag_ms"]
        line += " %g req/s for %gs (achieved %.1f): %d sent, %d ok, p50 %s ms, p99 %s ms (client send lag p99 %s ms)" % (
            rec["rate"], rec["duration_s"], rec["achieved_rate"], rec["sent"], rec["ok"],
            lat["p50"], lat["p99"], lag["p99"])
    else:
        line += " %d sequential streams: head p50 %s ms, first event p50 %s ms, whole stream p50 %s ms, %s events, [DONE] in %d" % (
            rec["count"], rec["head_ms"]["p50"], rec["first_event_ms"]["p50"], rec["total_ms"]["p50"],
            rec["events_per_response"], rec["done_seen"])
        if rec["done_seen"] != rec["count"]:
            line += "  !! %d streams without [DONE]" % (rec["count"] - rec["done_seen"])
    print(line + _flag(rec))
    for code, body in (rec.get("samples") or {}).items():
        print("      sample %s: %s" % (code, body))
    for ex in rec.get("log", {}).get("examples", []):
        print("      log: %s" % ex)


# ---------------------------------------------------------------------------------------------
# report

LABELS = {"direct": "direct (nginx upstream)", "nginx": "nginx proxy_pass", "sluice": "Sluice",
          "litellm": "LiteLLM"}


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, digits=2, unit=""):
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    if abs(v) >= 1000 and digits <= 2:
        return "{:,.0f}{}".format(v, unit)
    return "{:.{d}f}{}".format(v, unit, d=digits)


def read_meta(meta_dir):
    """scripts/bench's meta dir: machine.txt, settings.txt, notes.txt (one item a line),
    params.txt (KEY=VALUE lines) and proc-TARGET.json (the servers' /proc figures at the end)."""
    def lines(name):
        path = os.path.join(meta_dir, name)
        return [l.rstrip("\n") for l in open(path)] if os.path.exists(path) else []
    meta = {"machine": lines("machine.txt"), "settings": lines("settings.txt"), "notes": lines("notes.txt"),
            "rss_kb": {}, "procs": {}}
    for line in lines("params.txt"):
        key, _, value = line.partition("=")
        try:
            meta[key] = int(value)
        except ValueError:
            try:
                meta[key] = float(value)
            except ValueError:
                meta[key] = value
    for name in os.listdir(meta_dir):
        m = re.match(r"proc-(.+)\.json$", name)
        if m:
            info = json.load(open(os.path.join(meta_dir, name)))
            meta["rss_kb"][m.group(1)] = info["hwm_kb"]
            meta["procs"][m.group(1)] = ", ".join("%s (pid %d, %d threads, VmHWM %.1f MB)" % (
                p["comm"], p["pid"], p["threads"], p["hwm_kb"] / 1024.0) for p in info["procs"])
    return meta


def cmd_report(runs_path, meta_dir, out_path):
    runs = [json.loads(line) for line in open(runs_path) if line.strip()]
    meta = read_meta(meta_dir)
    targets = [t for t in ("direct", "nginx", "sluice", "litellm") if any(r["target"] == t for r in runs)]

    def pick(target, kind):
        return [r for r in runs if r["target"] == target and r["kind"] == kind and "failed" not in r]

    rows = {}
    for t in targets:
        tput, lat1, opn = pick(t, "tput"), pick(t, "lat1"), pick(t, "open")
        counted = [r for r in runs if r["target"] == t and r["kind"] != "diag"]
        non2xx = sum(r.get("non2xx", 0) for r in counted)
        errors = sum(sum((r.get("socket_errors") or {}).values()) for r in counted)
        for r in opn:
            non2xx += sum(v for k, v in r.get("statuses", {}).items() if not k.startswith("2"))
            errors += sum(r.get("errors", {}).values())
        failed = sum(1 for r in counted if "failed" in r)
        rows[t] = {
            "rps": median([r.get("rps") for r in tput]),
            "p50": median([r["percentiles_ms"].get("50") for r in lat1]),
            "p99": median([r["percentiles_ms"].get("99") for r in lat1]),
            "open_p50": median([r["latency_ms"]["p50"] for r in opn]),
            "open_p99": median([r["latency_ms"]["p99"] for r in opn]),
            "open_rate": opn[0]["rate"] if opn else None,
            "cpu": median([r.get("cpu_us_per_req") for r in tput]),
            "rss_mb": meta.get("rss_kb", {}).get(t, 0) / 1024.0 if meta.get("rss_kb", {}).get(t) else None,
            "procs": meta.get("procs", {}).get(t),
            "non2xx": non2xx, "errors": errors, "failed": failed,
            "rounds": len(tput),
        }
    direct_p50 = rows.get("direct", {}).get("p50")
    for t, row in rows.items():
        row["added"] = (row["p50"] - direct_p50) if (row["p50"] is not None and direct_p50 is not None) else None

    lines = []
    lines.append("# Gateway benchmark: direct vs nginx proxy_pass vs Sluice vs LiteLLM")
    lines.append("")
    lines.append("## Machine")
    lines.append("")
    for item in meta.get("machine", []):
        lines.append("* " + item)
    lines.append("")
    lines.append("## Settings")
    lines.append("")
    for item in meta.get("settings", []):
        lines.append("* " + item)
    lines.append("")
    lines.append("## Results (median of %d round%s)" % (meta["repeat"], "" if meta["repeat"] == 1 else "s"))
    lines.append("")
    conns = meta["connections"]
    lines.append("| target | req/s @ %d conns | p50 @ 1 conn | p99 @ 1 conn | open-loop rate | p50 @ rate | p99 @ rate | added p50 over direct | peak RSS | CPU per request | non-2xx / errors |" % conns)
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for t in targets:
        r = rows[t]
        rate = "%g req/s" % r["open_rate"] if r["open_rate"] else "n/a"
        if t == "litellm" and r["open_rate"] and r["open_rate"] != meta.get("rate"):
            rate += " (lower: LiteLLM cannot sustain %g)" % meta.get("rate")
        bad = r["non2xx"] + r["errors"] + r["failed"]
        errs = "%d / %d%s" % (r["non2xx"], r["errors"], " ⚠" if bad else "")
        if r["failed"]:
            errs += " (%d run%s failed)" % (r["failed"], "" if r["failed"] == 1 else "s")
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            LABELS[t], fmt(r["rps"], 0), fmt(r["p50"], 3, " ms"), fmt(r["p99"], 3, " ms"), rate,
            fmt(r["open_p50"], 3, " ms"), fmt(r["open_p99"], 3, " ms"),
            "0 (baseline)" if t == "direct" else fmt(r["added"], 3, " ms"),
            fmt(r["rss_mb"], 1, " MB"), fmt(r["cpu"], 1, " µs"), errs))
    lines.append("")

    def ratio(a, b):
        return (a / b) if (a is not None and b not in (None, 0) and b > 0) else None

    s, n, l = rows.get("sluice", {}), rows.get("nginx", {}), rows.get("litellm", {})
    lines.append("Ratios:")
    lines.append("")
    lines.append("* Sluice ÷ nginx proxy_pass throughput: **%s**" % fmt(ratio(s.get("rps"), n.get("rps")), 2, "×"))
    if "litellm" in rows:
        lines.append("* Sluice ÷ LiteLLM throughput: **%s**" % fmt(ratio(s.get("rps"), l.get("rps")), 1, "×"))
    else:
        lines.append("* Sluice ÷ LiteLLM throughput: n/a (LiteLLM not run)")
    added_ratio = ratio(s.get("added"), n.get("added"))
    if added_ratio is None and s.get("added") is not None:
        lines.append("* Sluice added p50 ÷ nginx added p50: n/a (nginx added %s over direct)" % fmt(n.get("added"), 3, " ms"))
    else:
        lines.append("* Sluice added p50 ÷ nginx added p50: **%s** (%s vs %s)" % (
            fmt(added_ratio, 2, "×"), fmt(s.get("added"), 3, " ms"), fmt(n.get("added"), 3, " ms")))
    # The same two ratios round by round: how far the medians above are from each round's figures.
    by_round = {}
    for r in runs:
        if r["kind"] in ("tput", "lat1") and "failed" not in r:
            by_round.setdefault(r.get("round"), {})[(r["target"], r["kind"])] = r
    per_round = []
    for number in sorted(k for k in by_round if k is not None):
        got = by_round[number]
        def p50(t):
            rec = got.get((t, "lat1"))
            return rec["percentiles_ms"].get("50") if rec else None
        tput = ratio((got.get(("sluice", "tput")) or {}).get("rps"), (got.get(("nginx", "tput")) or {}).get("rps"))
        added = None
        if None not in (p50("sluice"), p50("nginx"), p50("direct")):
            added = ratio(p50("sluice") - p50("direct"), p50("nginx") - p50("direct"))
        per_round.append("round %d: %s, %s" % (number, fmt(tput, 2, "×"), fmt(added, 2, "×")))
    if len(per_round) > 1:
        lines.append("* by round (throughput, added p50): " + "; ".join(per_round))
    if "litellm" in rows:
        lines.append("* LiteLLM added p50 ÷ Sluice added p50: %s" % fmt(ratio(l.get("added"), s.get("added")), 0, "×"))
    lines.append("")

    sse_direct, sse_sluice = pick("mock", "sse"), pick("sluice-sse", "sse")
    if sse_direct and sse_sluice:
        d = median([r["first_event_ms"]["p50"] for r in sse_direct])
        v = median([r["first_event_ms"]["p50"] for r in sse_sluice])
        dh = median([r["head_ms"]["p50"] for r in sse_direct])
        vh = median([r["head_ms"]["p50"] for r in sse_sluice])
        dt = median([r["total_ms"]["p50"] for r in sse_direct])
        vt = median([r["total_ms"]["p50"] for r in sse_sluice])
        sse_bad = sum(r["count"] - r["done_seen"] for r in sse_direct + sse_sluice)
        sse_bad += sum(sum(v2 for k, v2 in r.get("statuses", {}).items() if not k.startswith("2")) + sum(r.get("errors", {}).values())
                       for r in sse_direct + sse_sluice)
        lines.append("SSE time to first byte (first `data:` event; Sluice's mock provider, %d ms between chunks; %d sequential `stream: true` requests each, median of the rounds' p50): direct to the mock **%s**, through Sluice **%s** → Sluice adds **%s** (response head: %s vs %s; whole stream: %s vs %s)%s" % (
            meta.get("sse_chunk_ms", 20), sse_direct[0]["count"], fmt(d, 3, " ms"), fmt(v, 3, " ms"),
            fmt(None if d is None or v is None else v - d, 3, " ms"), fmt(dh, 3, " ms"), fmt(vh, 3, " ms"),
            fmt(dt, 1, " ms"), fmt(vt, 1, " ms"), "  ⚠ %d incomplete or failed streams" % sse_bad if sse_bad else ""))
        lines.append("")
        lines.append("(The whole stream through Sluice is about one chunk interval longer by design: Sluice asks the provider for the usage chunk, `stream_options.include_usage`, which the mock sends one pause after the finish chunk, and removes it before `[DONE]`.)")
    else:
        lines.append("SSE time to first byte: not measured (run failed)")
    lines.append("")
    lines.append("## Notes")
    lines.append("")
    for item in meta.get("notes", []):
        lines.append("* " + item)
    flagged = [t for t in targets if rows[t]["non2xx"] or rows[t]["errors"] or rows[t]["failed"]]
    for t in flagged:
        lines.append("* ⚠ %s: %d non-2xx answers and %d socket/connection errors over all runs; see the per-run lines above the table." % (
            LABELS[t], rows[t]["non2xx"], rows[t]["errors"]))
    for t in targets:
        if rows[t]["procs"]:
            lines.append("* %s processes (peak RSS is the sum of their VmHWM): %s" % (LABELS[t], rows[t]["procs"]))
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(out_path, "w") as f:
        f.write(text)


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return
    cmd, args = sys.argv[1], sys.argv[2:]
    table = {"ports": cmd_ports, "render": cmd_render, "nginx-string": cmd_nginx_string,
             "proc": cmd_proc, "tree": cmd_tree, "wrk-record": cmd_wrk_record, "openloop-record": cmd_openloop_record,
             "log-statuses": cmd_log_statuses, "json-get": cmd_json_get, "report": cmd_report}
    if cmd not in table:
        sys.exit("unknown subcommand %s" % cmd)
    table[cmd](*args)


if __name__ == "__main__":
    main()
