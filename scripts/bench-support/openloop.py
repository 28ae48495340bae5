#!/usr/bin/env python3
"""Open-loop HTTP/1.1 load client for scripts/bench (standard library only).

Two modes, both printing one JSON object on stdout:

* ``rate`` (default): requests are due at fixed intervals (``--rate`` per second for
  ``--duration`` seconds, after ``--warmup`` seconds at the same rate that are not counted). Each
  is sent on an idle keep-alive connection from a pool (a new connection is opened while fewer
  than ``--connections`` exist; past that the request waits for one). Latency is measured from
  the request's *intended* send time to the last byte of its response, so a server that stalls
  is charged for every request that should have gone out meanwhile (no coordinated omission),
  and so is the client's own lateness: ``send_lag`` reports how late the client actually wrote
  requests, to tell the two apart.
* ``sequential``: ``--count`` requests one after the other on one keep-alive connection (for
  paced SSE streams): time to the response head, to the first ``data:`` event, and to the end of
  the body, each from the moment the request was written.

Responses are parsed with Content-Length or chunked encoding; statuses are tallied, and a few
bodies of non-2xx answers are kept as samples.
"""

import argparse
import asyncio
import collections
import json
import socket
import sys
import time

now = time.monotonic  # the event loop's clock too (loop.time())


class ResponseParser:
    """Incremental HTTP/1.1 response parser (one response at a time on a connection)."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.buf = bytearray()
        self.status = None
        self.head_done = False
        self.length = None  # Content-Length, or None
        self.chunked = False
        self.close = False
        self.body = bytearray()
        self.pos = 0  # parse position in buf for the body
        self.chunk_left = None  # bytes left in the current chunk (chunked)
        self.finished = False
        self.t_first_byte = None
        self.t_head = None
        self.t_first_event = None

    def feed(self, data, t):
        if self.t_first_byte is None:
            self.t_first_byte = t
        self.buf += data
        if not self.head_done:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
            parts = head[0].split(" ", 2)
            self.status = int(parts[1])
            for line in head[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                value = value.strip()
                if name == "content-length":
                    self.length = int(value)
                elif name == "transfer-encoding" and "chunked" in value.lower():
                    self.chunked = True
                elif name == "connection" and value.lower() == "close":
                    self.close = True
            self.head_done = True
            self.t_head = t
            self.pos = end + 4
            if not self.chunked and self.length is None:
                if self.status in (204, 304) or 100 <= self.status < 200:
                    self.length = 0
                else:
                    self.close = True  # body runs to the end of the connection
        self._parse_body(t)

    def _parse_body(self, t):
        if self.chunked:
            self._parse_chunked(t)
            if self.pos > 65536:  # drop what has been consumed
                del self.buf[:self.pos]
                self.pos = 0
            return
        avail = len(self.buf) - self.pos
        if avail > 0:
            self._body_bytes(self.buf[self.pos:], t)
            self.pos = len(self.buf)
        if self.length is not None and len(self.body) >= self.length:
            self.finished = True

    def _parse_chunked(self, t):
        while not self.finished:
            if self.chunk_left is None:  # a chunk-size line is next
                eol = self.buf.find(b"\r\n", self.pos)
                if eol < 0:
                    return
                size = int(bytes(self.buf[self.pos:eol]).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # The last chunk: trailers (normally none), then an empty line. Until all of
                    # it is here, pos stays on the size line, which is parsed again next time.
                    p = eol + 2
                    while True:
                        e = self.buf.find(b"\r\n", p)
                        if e < 0:
                            return
                        if e == p:
                            self.pos = e + 2
                            self.finished = True
                            return
                        p = e + 2
                self.pos = eol + 2
                self.chunk_left = size
            if self.chunk_left > 0:
                take = min(self.chunk_left, len(self.buf) - self.pos)
                if take <= 0:
                    return
                self._body_bytes(self.buf[self.pos:self.pos + take], t)
                self.pos += take
                self.chunk_left -= take
                if self.chunk_left > 0:
                    return
            if len(self.buf) - self.pos < 2:  # the CRLF after the chunk's data
                return
            self.pos += 2
            self.chunk_left = None

    def _body_bytes(self, data, t):
        self.body += data
        if self.t_first_event is None and b"data:" in self.body[-(len(data) + 5):]:
            self.t_first_event = t

    def eof(self, t):
        """The connection closed: a read-to-close body ends here."""
        if self.head_done and not self.chunked and self.length is None:
            self.finished = True
        return self.finished


class Connection(asyncio.Protocol):
    def __init__(self, pool):
        self.pool = pool
        self.transport = None
        self.parser = ResponseParser()
        self.request = None  # (intended time, sent time) of the request in flight
        self.on_done = None
        self.alive = True

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, payload, intended, on_done):
        self.parser.reset()
        self.on_done = on_done
        sent = now()
        self.request = (intended, sent)
        self.transport.write(payload)

    def data_received(self, data):
        t = now()
        if self.request is None:
            return  # unsolicited bytes; ignore
        try:
            self.parser.feed(data, t)
        except Exception as exc:  # malformed response
            self._finish(t, error="parse error: %r" % exc)
            self.transport.close()
            return
        if self.parser.finished:
            self._finish(t)

    def _finish(self, t, error=None):
        req, self.request = self.request, None
        callback, self.on_done = self.on_done, None
        parser = self.parser
        keep = error is None and not parser.close and self.alive
        if not keep:
            self.alive = False
            if self.transport is not None:
                self.transport.close()
        if callback is not None:
            callback(self, req, parser, t, error)

    def connection_lost(self, exc):
        self.alive = False
        if self.request is not None:
            t = now()
            if self.parser.eof(t):
                self._finish(t)
            else:
                self._finish(t, error="connection closed" + (": %s" % exc if exc else ""))
        self.pool.lost(self)


class Pool:
    def __init__(self, host, port, limit):
        self.host, self.port, self.limit = host, port, limit
        self.idle = collections.deque()
        self.count = 0  # open or opening
        self.waiters = collections.deque()
        self.loop = asyncio.get_event_loop()
        self.connect_errors = 0

    async def _open(self):
        self.count += 1
        try:
            _, conn = await self.loop.create_connection(lambda: Connection(self), self.host, self.port)
            return conn
        except OSError:
            self.count -= 1
            self.connect_errors += 1
            raise

    async def preconnect(self, n):
        conns = await asyncio.gather(*[self._open() for _ in range(n)], return_exceptions=True)
        for c in conns:
            if isinstance(c, Connection):
                self.idle.append(c)

    def release(self, conn):
        if not conn.alive:
            return
        if self.waiters:
            self.waiters.popleft()(conn)
        else:
            self.idle.append(conn)

    def lost(self, conn):
        self.count -= 1
        try:
            self.idle.remove(conn)
        except ValueError:
            pass
        # a waiter may now open a fresh connection
        if self.waiters and self.count < self.limit:
            waiter = self.waiters.popleft()
            self.loop.create_task(self._open_for(waiter))

    async def _open_for(self, waiter):
        try:
            conn = await self._open()
        except OSError as exc:
            waiter(None, str(exc))
            return
        waiter(conn)

    def acquire(self, callback):
        """Calls callback(conn) now or later; callback(None, error) when no connection opens."""
        while self.idle:
            conn = self.idle.pop()  # most recently used first
            if conn.alive:
                callback(conn)
                return
        if self.count < self.limit:
            self.loop.create_task(self._open_for(callback))
        else:
            self.waiters.append(callback)


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def summary_ms(values):
    s = sorted(values)
    out = {"n": len(s)}
    for p in (50, 90, 99, 99.9):
        v = percentile(s, p)
        out["p%s" % ("%g" % p).replace(".", "_")] = None if v is None else round(v * 1000.0, 4)
    out["max"] = round(s[-1] * 1000.0, 4) if s else None
    out["mean"] = round(sum(s) / len(s) * 1000.0, 4) if s else None
    return out


def build_request(args, body):
    lines = ["POST %s HTTP/1.1" % args.path, "Host: %s:%d" % (args.host, args.port),
             "Content-Type: application/json", "Content-Length: %d" % len(body)]
    for h in args.header:
        lines.append(h)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Tally:
    def __init__(self):
        self.statuses = collections.Counter()
        self.errors = collections.Counter()
        self.samples = {}

    def add(self, parser, error):
        if error is not None:
            self.errors[error.split(":")[0]] += 1
            return
        self.statuses[str(parser.status)] += 1
        if not 200 <= parser.status < 300 and str(parser.status) not in self.samples:
            self.samples[str(parser.status)] = bytes(parser.body[:300]).decode("utf-8", "replace")


async def run_rate(args, payload):
    loop = asyncio.get_event_loop()
    pool = Pool(args.host, args.port, args.connections)
    await pool.preconnect(min(args.preconnect, args.connections))
    interval = 1.0 / args.rate
    n_warm = int(round(args.warmup * args.rate))
    n_total = n_warm + int(round(args.duration * args.rate))
    latencies, lags = [], []
    tally = Tally()
    outstanding = [0]
    all_sent = asyncio.Event()
    drained = asyncio.Event()

    def completed(conn, req, parser, t, error, index):
        outstanding[0] -= 1
        intended, sent = req
        if index >= n_warm:
            tally.add(parser, error)
            if error is None:
                latencies.append(t - intended)
                lags.append(sent - intended)
        pool.release(conn)
        if all_sent.is_set() and outstanding[0] == 0:
            drained.set()

    def fire(index, intended):
        outstanding[0] += 1

        def got(conn, error=None):
            if conn is None:
                outstanding[0] -= 1
                if index >= n_warm:
                    tally.errors["connect failed"] += 1
                if all_sent.is_set() and outstanding[0] == 0:
                    drained.set()
                return
            conn.send(payload, intended, lambda c, r, p, t, e: completed(c, r, p, t, e, index))

        pool.acquire(got)

    start = loop.time() + 0.01
    measure_start = start + n_warm * interval
    i = 0
    while i < n_total:
        due = start + i * interval
        t = loop.time()
        if due - t > 0.0012:
            # The selector's timeout is rounded up to whole milliseconds: sleep to within 1 ms
            # of the due time, then spin (still serving I/O) for the rest.
            await asyncio.sleep(due - t - 0.001)
            continue
        if due > t:
            await asyncio.sleep(0)  # spin, still serving I/O, for sub-millisecond send times
            continue
        # send everything that is due
        while i < n_total and start + i * interval <= t:
            fire(i, start + i * interval)
            i += 1
        await asyncio.sleep(0)
    all_sent.set()
    send_end = loop.time()
    if outstanding[0] == 0:
        drained.set()
    try:
        await asyncio.wait_for(drained.wait(), timeout=args.timeout)
    except asyncio.TimeoutError:
        pass
    end = loop.time()
    if outstanding[0] > 0:
        tally.errors["no answer within %gs" % args.timeout] += outstanding[0]
    measured = n_total - n_warm
    ok = sum(v for k, v in tally.statuses.items() if k.startswith("2"))
    result = {
        "mode": "rate",
        "rate": args.rate,
        "duration_s": args.duration,
        "sent": measured,
        "answered": sum(tally.statuses.values()),
        "ok": ok,
        "statuses": dict(tally.statuses),
        "errors": dict(tally.errors),
        "samples": tally.samples,
        "latency_ms": summary_ms(latencies),
        "send_lag_ms": summary_ms(lags),
        "achieved_rate": round(measured / max(1e-9, send_end - measure_start), 1),
        "connections_opened_max": args.connections,
        "drain_s": round(end - send_end, 3),
    }
    for conn in list(pool.idle):
        conn.transport.close()
    return result


async def run_sequential(args, payload):
    loop = asyncio.get_event_loop()
    _, conn = await loop.create_connection(lambda: Connection(None), args.host, args.port)
    conn.pool = type("NoPool", (), {"lost": staticmethod(lambda c: None)})()
    heads, firsts, totals = [], [], []
    tally = Tally()
    events_seen, done_seen = [], 0
    for i in range(args.warmup_count + args.count):
        if not conn.alive:
            _, conn = await loop.create_connection(lambda: Connection(None), args.host, args.port)
            conn.pool = type("NoPool", (), {"lost": staticmethod(lambda c: None)})()
        fut = loop.create_future()
        conn.send(payload, now(), lambda c, r, p, t, e: fut.set_result((r, p, t, e)))
        try:
            req, parser, t, error = await asyncio.wait_for(fut, timeout=args.timeout)
        except asyncio.TimeoutError:
            tally.errors["no answer within %gs" % args.timeout] += 1
            conn.transport.close()
            conn.alive = False
            continue
        if i < args.warmup_count:
            continue
        tally.add(parser, error)
        if error is not None:
            continue
        sent = req[1]
        heads.append(parser.t_head - sent)
        if parser.t_first_event is not None:
            firsts.append(parser.t_first_event - sent)
        totals.append(t - sent)
        body = bytes(parser.body)
        events_seen.append(body.count(b"data:"))
        if b"data: [DONE]" in body:
            done_seen += 1
        if args.pause_ms:
            await asyncio.sleep(args.pause_ms / 1000.0)
    if conn.alive:
        conn.transport.close()
    return {
        "mode": "sequential",
        "count": args.count,
        "statuses": dict(tally.statuses),
        "errors": dict(tally.errors),
        "samples": tally.samples,
        "head_ms": summary_ms(heads),
        "first_event_ms": summary_ms(firsts),
        "total_ms": summary_ms(totals),
        "events_per_response": sorted(events_seen)[len(events_seen) // 2] if events_seen else None,
        "done_seen": done_seen,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/v1/chat/completions")
    ap.add_argument("--body-file", required=True)
    ap.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    ap.add_argument("--mode", choices=["rate", "sequential"], default="rate")
    ap.add_argument("--rate", type=float, default=500.0, help="requests per second (rate mode)")
    ap.add_argument("--duration", type=float, default=10.0, help="measured seconds (rate mode)")
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds sent first and not counted (rate mode)")
    ap.add_argument("--connections", type=int, default=128, help="most connections (rate mode)")
    ap.add_argument("--preconnect", type=int, default=16, help="connections opened before the start (rate mode)")
    ap.add_argument("--count", type=int, default=50, help="requests (sequential mode)")
    ap.add_argument("--warmup-count", type=int, default=3, help="requests first, not counted (sequential mode)")
    ap.add_argument("--pause-ms", type=float, default=0.0, help="pause between requests (sequential mode)")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for answers at the end")
    args = ap.parse_args()
    with open(args.body_file, "rb") as f:
        body = f.read().rstrip()
    payload = build_request(args, body)
    runner = run_rate if args.mode == "rate" else run_sequential
    result = asyncio.run(runner(args, payload))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
