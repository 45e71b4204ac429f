#!/usr/bin/env python3
"""Room-rate load generator for XMPP servers (the XMPP half of Scripts/compare.sh).

Runs the workload of `haven bench --phase room_rate` against an XMPP server already running on
loopback: MEMBERS clients log in with SASL ANONYMOUS, bind a resource and join one MUC room; the
first SENDERS of them send groupchat messages with BODY-byte bodies at a fixed total rate R
(spread evenly over the senders) for SECONDS, then everyone keeps reading for DRAIN seconds.
Each body starts with "HVN <run> <sender> <seq> <send time in µs> ", so each receiver counts the
deliveries of the current run that came from another member (the expected count is
sent x (members - 1)) and takes the send-to-receive latency of every one of them.

The client is a minimal one on raw asyncio sockets (stream, SASL ANONYMOUS, bind, MUC join,
groupchat), not an XMPP library: at a few hundred messages a second the 100 members receive
tens of thousands of stanzas a second, and this client only scans the received bytes for the
marker with one regular expression instead of parsing XML. The members are spread over
--workers processes.

The server's CPU time is read from /proc/<pid>/stat (utime + stime of all its threads) at the
start and end of each window and divided by the deliveries counted in that window, as Haven's
bench does. One JSON line per rate goes to stdout, in the shape of Haven's room_rate lines.
"""

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import socket
import sys
import time

NS_STREAM = "http://etherx.jabber.org/streams"
CLK_TCK = os.sysconf("SC_CLK_TCK")
SELF_PRESENCE = re.compile(rb"code=['\"]110['\"]")
NEW_ROOM = re.compile(rb"code=['\"]201['\"]")
JID = re.compile(rb"<jid>([^<]+)</jid>")


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


def now_us():
    return time.monotonic_ns() // 1000


# --------------------------------------------------------------------------- one member


class Member(asyncio.Protocol):
    """One XMPP client. Logs in and joins with `setup()`, then counts what it receives."""

    def __init__(self, worker, index):
        self.worker = worker
        self.index = index
        self.tag = str(index).encode()
        self.transport = None
        self.buffer = b""  # during setup
        self.arrived = asyncio.Event()
        self.counting = False
        self.tail = b""
        self.alive = False
        self.joined = False

    # asyncio.Protocol
    def connection_made(self, transport):
        self.transport = transport
        self.alive = True
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc):
        self.alive = False
        self.joined = False
        self.arrived.set()

    def data_received(self, data):
        if not self.counting:
            self.buffer += data
            self.arrived.set()
            return
        worker = self.worker
        pattern = worker.pattern
        if pattern is None:
            return
        buf = self.tail + data if self.tail else data
        end = 0
        received = now_us()
        mine = self.tag
        latencies = worker.latencies
        deliveries = echoes = 0
        for match in pattern.finditer(buf):
            end = match.end()
            if match.group(1) == mine:
                echoes += 1
            else:
                deliveries += 1
                latencies.append(received - int(match.group(2)))
        worker.deliveries += deliveries
        worker.echoes += echoes
        self.tail = buf[max(end, len(buf) - 96):]

    # setup
    async def expect(self, token, timeout):
        """Waits for `token` (bytes or compiled pattern) in the buffer; returns what came up to its end."""
        deadline = time.monotonic() + timeout
        while True:
            if isinstance(token, bytes):
                at = self.buffer.find(token)
                found = at >= 0 and at + len(token)
            else:
                match = token.search(self.buffer)
                found = match and match.end()
            if found:
                head, self.buffer = self.buffer[:found], self.buffer[found:]
                return head
            if not self.alive:
                raise ConnectionError(f"member {self.index}: closed while waiting for {token!r}: {self.buffer[-300:]!r}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"member {self.index}: no {token!r} within {timeout}s: {self.buffer[-300:]!r}")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), left)
            except asyncio.TimeoutError:
                pass

    def open_stream(self):
        cfg = self.worker.cfg
        self.transport.write(
            f"<?xml version='1.0'?><stream:stream to='{cfg.domain}' xmlns='jabber:client' "
            f"xmlns:stream='{NS_STREAM}' version='1.0'>".encode()
        )

    async def setup(self, create_room=False, timeout=60):
        cfg = self.worker.cfg
        loop = asyncio.get_running_loop()
        self.counting = False
        self.buffer = b""
        self.tail = b""
        await loop.create_connection(lambda: self, cfg.host, cfg.port)
        self.open_stream()
        features = await self.expect(b"</stream:features>", timeout)
        if b"ANONYMOUS" not in features:
            raise RuntimeError(f"the server offers no SASL ANONYMOUS: {features!r}")
        self.transport.write(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'>=</auth>")
        reply = await self.expect(re.compile(rb"<(success|failure)\b[^>]*?(/>|>.*?</\1>)", re.S), timeout)
        if b"<success" not in reply:
            raise RuntimeError(f"SASL ANONYMOUS failed: {reply!r}")
        self.buffer = b""
        self.open_stream()
        await self.expect(b"</stream:features>", timeout)
        self.transport.write(
            b"<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
            b"<resource>bench</resource></bind></iq>"
        )
        reply = await self.expect(re.compile(rb"<iq\b[^>]*id=['\"]bind1['\"].*?</iq>", re.S), timeout)
        if not JID.search(reply):
            raise RuntimeError(f"bind failed: {reply!r}")
        room = f"{cfg.room}@{cfg.muc}"
        self.transport.write(
            f"<presence to='{room}/m{self.index}'><x xmlns='http://jabber.org/protocol/muc'>"
            f"<history maxstanzas='0'/></x></presence>".encode()
        )
        presence = await self.expect(SELF_PRESENCE, timeout)
        if create_room and NEW_ROOM.search(presence + self.buffer[:2000]):
            # A new room is locked until its owner configures it: accept the defaults
            # (an instant room), which the server's config sets to archive.
            self.transport.write(
                f"<iq type='set' id='cfg1' to='{room}'><query xmlns='http://jabber.org/protocol/muc#owner'>"
                f"<x xmlns='jabber:x:data' type='submit'/></query></iq>".encode()
            )
            reply = await self.expect(re.compile(rb"<iq\b[^>]*id=['\"]cfg1['\"][^>]*>", re.S), timeout)
            if b"result" not in reply:
                raise RuntimeError(f"configuring the room failed: {reply!r}")
        self.buffer = b""
        self.counting = True
        self.joined = True

    def send(self, run, seq, body_bytes):
        head = f"HVN {run} {self.index} {seq} {now_us()} "
        body = head + "x" * max(0, body_bytes - len(head))
        self.transport.write(
            f"<message to='{self.worker.room_jid}' type='groupchat'><body>{body}</body></message>".encode()
        )


# --------------------------------------------------------------------------- one worker process


class Worker:
    def __init__(self, cfg, conn, indices):
        self.cfg = cfg
        self.conn = conn
        self.members = [Member(self, i) for i in indices]
        self.senders = [m for m in self.members if m.index < cfg.senders]
        self.room_jid = f"{cfg.room}@{cfg.muc}"
        self.pattern = None
        self.latencies = []
        self.deliveries = 0
        self.echoes = 0

    async def main(self):
        loop = asyncio.get_running_loop()
        while True:
            # A thread waits on the pipe, so it stays blocking (an event loop's reader would
            # make it non-blocking, and a long reply would then fail half-written).
            command = await loop.run_in_executor(None, self.conn.recv)
            kind = command[0]
            try:
                if kind == "join":
                    reply = await self.join(*command[1:])
                elif kind == "run":
                    reply = await self.run(*command[1:])
                elif kind == "quit":
                    for m in self.members:
                        if m.transport is not None:
                            m.transport.close()
                    self.conn.send(("ok",))
                    return
                else:
                    reply = ("error", f"unknown command {kind}")
            except Exception as error:  # reported to the parent, which stops
                reply = ("error", f"{type(error).__name__}: {error}")
            self.conn.send(reply)

    async def join(self, only=None, create_room=False):
        """Connects and joins every member not joined (or just the ones in `only`)."""
        todo = [m for m in self.members if not m.joined and (only is None or m.index in only)]
        errors = []
        # At most 25 handshakes at a time: a burst of 100 is fine too, but this is gentler on accept queues.
        gate = asyncio.Semaphore(25)

        async def one(member):
            async with gate:
                try:
                    if member.transport is not None:
                        member.transport.abort()
                    await member.setup(create_room=create_room)
                except Exception as error:
                    errors.append(f"{type(error).__name__}: {error}")

        await asyncio.gather(*(one(m) for m in todo))
        if errors:
            return ("error", f"{len(errors)} members failed to join, first: {errors[0]}")
        return ("ok", sum(m.joined for m in self.members))

    async def run(self, run, rate, start_at, seconds, drain, body_bytes):
        """Sends this worker's share of `rate` from `start_at` (monotonic) for `seconds`, reads
        until `drain` seconds after; returns the counts at the window's end and after the drain."""
        self.pattern = re.compile(rb"HVN " + str(run).encode() + rb" (\d+) \d+ (\d+) ")
        self.latencies = []
        self.deliveries = 0
        self.echoes = 0
        share = rate * len(self.senders) / self.cfg.senders
        sent = 0
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        cpu0 = os.times()
        end = start_at + seconds
        k = len(self.senders)
        while k:
            now = time.monotonic()
            if now >= end:
                break
            due = int((now - start_at) * share) + 1
            while sent < due:
                member = self.senders[sent % k]
                if member.alive:
                    member.send(run, sent // k, body_bytes)
                sent += 1
            await asyncio.sleep(min(0.002, end - now))
        await asyncio.sleep(max(0.0, end - time.monotonic()))
        cpu1 = os.times()
        window = (self.deliveries, self.echoes)
        await asyncio.sleep(max(0.0, end + drain - time.monotonic()))
        total = (self.deliveries, self.echoes)
        self.pattern = None
        latencies = self.latencies
        self.latencies = []
        alive = sum(m.alive and m.joined for m in self.members)
        return ("ok", {
            "sent": sent,
            "window_deliveries": window[0],
            "window_echoes": window[1],
            "deliveries": total[0],
            "echoes": total[1],
            "cpu_s": (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system),
            "alive": alive,
            "latencies": latencies,
        })


def worker_process(cfg, conn, indices):
    try:
        import uvloop  # noqa: optional, faster event loop when present
        uvloop.install()
    except ImportError:
        pass
    asyncio.run(Worker(cfg, conn, indices).main())


# --------------------------------------------------------------------------- the parent


def cpu_seconds(pid):
    """utime + stime of a process and all its threads (fields 14 and 15 of /proc/pid/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_cpu():
    """(busy, iowait, steal) seconds of all cores, from /proc/stat; busy leaves out steal."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle, iowait, steal = values[3], values[4], values[7]
    return (sum(values[:7]) - idle - iowait) / CLK_TCK, iowait / CLK_TCK, steal / CLK_TCK


def thread_cpu_seconds(pid):
    """CPU seconds by thread name (threads of the same name added up)."""
    by_name = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                text = f.read()
        except OSError:  # the thread ended
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        by_name[name] = by_name.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / CLK_TCK
    return by_name


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[i]


class Pool:
    def __init__(self, cfg):
        self.cfg = cfg
        ctx = mp.get_context("fork")
        self.conns, self.procs = [], []
        for w in range(cfg.workers):
            parent, child = ctx.Pipe()
            indices = [i for i in range(cfg.members) if i % cfg.workers == w]
            proc = ctx.Process(target=worker_process, args=(cfg, child, indices), daemon=True)
            proc.start()
            self.conns.append(parent)
            self.procs.append(proc)

    def ask(self, command, workers=None, timeout=120):
        targets = range(len(self.conns)) if workers is None else workers
        for w in targets:
            self.conns[w].send(command)
        replies = []
        for w in targets:
            if not self.conns[w].poll(timeout):
                raise TimeoutError(f"worker {w} did not answer {command[0]} within {timeout}s")
            reply = self.conns[w].recv()
            if reply[0] != "ok":
                raise RuntimeError(f"worker {w}: {reply[1]}")
            replies.append(reply[1] if len(reply) > 1 else None)
        return replies

    def join_all(self):
        # Member 0 (worker 0) makes the room first, so no one else finds it locked.
        self.ask(("join", {0}, True), workers=[0])
        joined = sum(self.ask(("join", None, False)))
        if joined != self.cfg.members:
            raise RuntimeError(f"only {joined} of {self.cfg.members} members joined")

    def close(self):
        for conn in self.conns:
            try:
                conn.send(("quit",))
            except OSError:
                pass
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()


def window(pool, cfg, run, rate, seconds, drain):
    start_at = time.monotonic() + 0.3
    for conn in pool.conns:
        conn.send(("run", run, rate, start_at, seconds, drain, cfg.body_bytes))
    time.sleep(max(0.0, start_at - time.monotonic()))
    threads0 = thread_cpu_seconds(cfg.server_pid)
    machine0 = machine_cpu()
    cpu0 = cpu_seconds(cfg.server_pid)
    time.sleep(max(0.0, start_at + seconds - time.monotonic()))
    cpu1 = cpu_seconds(cfg.server_pid)
    machine1 = machine_cpu()
    threads1 = thread_cpu_seconds(cfg.server_pid)
    by_thread = {name: round((used - threads0.get(name, 0.0)) / seconds, 2) for name, used in threads1.items()}
    by_thread = dict(sorted(((k, v) for k, v in by_thread.items() if v >= 0.01), key=lambda kv: -kv[1]))
    time.sleep(max(0.0, start_at + seconds + drain - time.monotonic()))
    cpu2 = cpu_seconds(cfg.server_pid)
    results = []
    for w, conn in enumerate(pool.conns):
        if not conn.poll(seconds + drain + 60):
            raise TimeoutError(f"worker {w} did not finish the window")
        reply = conn.recv()
        if reply[0] != "ok":
            raise RuntimeError(f"worker {w}: {reply[1]}")
        results.append(reply[1])
    total = {k: sum(r[k] for r in results) for k in ("sent", "window_deliveries", "window_echoes", "deliveries", "echoes", "cpu_s", "alive")}
    latencies = sorted(v for r in results for v in r["latencies"])
    expected = total["sent"] * (cfg.members - 1)
    window_deliveries = total["window_deliveries"]
    server_cpu = cpu1 - cpu0

    def ms(q):
        value = percentile(latencies, q)
        return None if value is None else round(value / 1000, 2)

    return {
        "phase": "room_rate",
        "server_name": cfg.server_name,
        "offered_messages_per_s": rate,
        "seconds": seconds,
        "messages_per_s": round(total["window_echoes"] / seconds, 1),
        "deliveries_per_s": round(window_deliveries / seconds, 1),
        "sent": total["sent"],
        "expected_deliveries": expected,
        "delivered": total["deliveries"],
        "delivered_share": round(total["deliveries"] / expected, 6) if expected else 0,
        "echoes": total["echoes"],
        "members_connected": total["alive"],
        "latency_ms": {"p50": ms(0.50), "p99": ms(0.99), "p999": ms(0.999), "max": ms(1.0), "count": len(latencies)},
        "server": {
            "cpu_us_per_delivery": round(server_cpu / window_deliveries * 1e6, 1) if window_deliveries else 0,
            "cores": round(server_cpu / seconds, 2),
            "cores_in_drain": round((cpu2 - cpu1) / drain, 2) if drain else 0,
            "cores_by_thread": by_thread,
        },
        "client": {"cores": round(total["cpu_s"] / seconds, 2), "processes": cfg.workers},
        # Every core's busy time in the window (server, generator and anything else running),
        # and the time cores sat idle waiting for the disk.
        "machine": {
            "busy_cores": round((machine1[0] - machine0[0]) / seconds, 2),
            "other_cores": round((machine1[0] - machine0[0] - server_cpu - total["cpu_s"]) / seconds, 2),
            "iowait_cores": round((machine1[1] - machine0[1]) / seconds, 2),
            # Time the hypervisor gave this machine's virtual cores to someone else.
            "steal_cores": round((machine1[2] - machine0[2]) / seconds, 2),
            "cores": os.cpu_count(),
        },
    }


def passed(line, cfg):
    p99 = line["latency_ms"]["p99"]
    return line["delivered"] >= line["expected_deliveries"] > 0 and p99 is not None and p99 <= cfg.p99_bound_ms


def settle(cfg, limit=30.0):
    """Waits for the server to go quiet after an overloaded window (its CPU below a tenth of a core)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_seconds(cfg.server_pid)
        time.sleep(0.5)
        if cpu_seconds(cfg.server_pid) - before < 0.05:
            return
    log(f"{cfg.server_name}: still busy after {limit:.0f}s of waiting")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server-name", required=True)
    parser.add_argument("--server-pid", type=int, required=True, help="the process whose CPU time is measured")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5222)
    parser.add_argument("--domain", default="localhost")
    parser.add_argument("--muc", default=None, help="the MUC service (default conference.DOMAIN)")
    parser.add_argument("--room", default="bench-rates")
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--body-bytes", type=int, default=200)
    parser.add_argument("--rates", default="100,200,400,800,1600,3200,6400,12800")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--drain", type=float, default=2.0)
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds at the first rate before measuring (0: none)")
    parser.add_argument("--bisect", type=int, default=2, help="extra windows between the highest passing and the first failing rate (halving if the first rate failed)")
    parser.add_argument("--p99-bound-ms", type=float, default=1000.0)
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    cfg = parser.parse_args()
    cfg.muc = cfg.muc or f"conference.{cfg.domain}"
    rates = [float(r) for r in cfg.rates.split(",") if r.strip()]

    pool = Pool(cfg)
    try:
        began = time.monotonic()
        pool.join_all()
        log(f"{cfg.server_name}: {cfg.members} members joined in {time.monotonic() - began:.1f}s")
        run = int(time.time()) % 100000 * 10
        if cfg.warmup > 0:
            warm = window(pool, cfg, run, rates[0], cfg.warmup, cfg.drain)
            log(f"{cfg.server_name}: warm-up at {rates[0]:g}/s delivered {warm['delivered_share']:.4f}")
            run += 1
        best, worst = None, None
        for rate in rates:
            line = window(pool, cfg, run, rate, cfg.seconds, cfg.drain)
            run += 1
            ok = passed(line, cfg)
            line["passed"] = ok
            print(json.dumps(line), flush=True)
            if not ok:
                worst = rate
                break
            best = rate
        for _ in range(cfg.bisect if worst is not None else 0):
            settle(cfg)
            pool.join_all()  # members the overload disconnected come back
            if best is None:  # even the first rate failed: halve it
                rate = round(worst / 2)
                if rate < 10:
                    break
            else:
                rate = round((best + worst) / 2 / 10) * 10
                if rate <= best or rate >= worst:
                    break
            line = window(pool, cfg, run, rate, cfg.seconds, cfg.drain)
            run += 1
            line["passed"] = ok = passed(line, cfg)
            line["bisect"] = True
            print(json.dumps(line), flush=True)
            if ok:
                best = rate
            else:
                worst = rate
        summary = {
            "phase": "room_rate_summary",
            "server_name": cfg.server_name,
            "highest_passing_messages_per_s": best,
            "lowest_failing_messages_per_s": worst,
            "pass_rule": f"every expected delivery within the window + {cfg.drain:g}s and p99 <= {cfg.p99_bound_ms:g} ms",
        }
        print(json.dumps(summary), flush=True)
    finally:
        pool.close()


if __name__ == "__main__":
    main()
