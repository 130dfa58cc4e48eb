"""Scenario ``storm`` (issue 14): a process holding many subscribed sockets dies and comes back.

``sockets`` clients, each subscribed to ``per_socket`` streams (of a pool of
objects), are connected to one daphne process. The process is killed
(SIGKILL: no goodbye) and started again while ``changes`` changes per stream
are made through a second process (REST), so the writes go on while the
first one is down. Each client behaves like ``frontend/src/realtime/client.ts``:
it reconnects with the quick first retry and full-jitter backoff (or after
the server's ``reconnect`` hint), resubscribes everything in one ``streams``
frame with ``since``/``epoch``, takes replays as ``events`` frames
(``realtime.v2``), applies each seq once and in order, and resubscribes a
stream from ``since`` when it sees a gap.

Measured: the time from the process accepting connections again (its
listening socket: a health check would queue behind the clients already
retrying) until every client has applied every event up to the streams'
heads, and how many events were not applied by the end of the wait
(``lost``; must be 0: a catch-up slower than the wait counts here too,
``gaps`` and ``reloads`` tell the two apart) or needed a reload
(``recovered: false``). Then the same with a graceful restart (SIGTERM: the server sends ``reconnect``). With
``profile``, py-spy records the restarted process while its clients catch up
after the kill.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bench.targets import OursTarget, ServerProcess, Target, cpu_seconds, machine_cpu_seconds, profiled

#: The client's backoff (frontend/src/realtime/backoff.ts): quick first retry, then full jitter.
FIRST_MS, MIN_MS, MAX_MS, RESTART_MAX_MS = 250, 500, 20_000, 5_000
#: A connection up this long resets the backoff (the client's ``stableAfterMs``).
STABLE_S = 5.0
#: Concurrent handshakes while the clients first connect.
RAMP_CONCURRENCY = 40


class Backoff:
    """``backoffDelay`` of the client, in seconds."""

    def __init__(self) -> None:
        self.attempt = 0

    def next(self, cap_ms: float = MAX_MS) -> float:
        attempt, self.attempt = self.attempt, self.attempt + 1
        if attempt == 0:
            return random.random() * min(FIRST_MS, cap_ms) / 1000
        ceiling = min(cap_ms, MIN_MS * 2**attempt)
        return (MIN_MS + random.random() * (ceiling - MIN_MS)) / 1000


class Client:
    """One reconnecting client with ``objects`` subscribed (see the module docstring)."""

    def __init__(self, target: OursTarget, objects: list[str], ramp: asyncio.Semaphore) -> None:
        self.target, self.objects, self.ramp = target, objects, ramp
        self.streams: dict[str, dict[str, Any]] = {f"foo.{obj}": {"id": obj, "seq": None} for obj in objects}
        self.backoff = Backoff()
        self.hint: tuple[int, int] | None = None
        self.restarting = False
        self.ready = asyncio.Event()
        self.stopped = False
        self.connects = self.failed_connects = self.hints = 0
        self.applied = self.duplicates = self.gaps = self.reloads = 0
        self.closes: Counter[int | None] = Counter()  # close codes of the connections that opened
        self.subscribed_at = 0.0  # when the last answer to subscribing everything arrived (``time.perf_counter``)
        self.task: asyncio.Task[None] | None = None

    def entry(self, stream: str) -> dict[str, Any]:
        state = self.streams[stream]
        entry: dict[str, Any] = {"object_type": "foo", "id": state["id"]}
        if state["seq"] is not None:
            entry |= {"since": state["seq"], "epoch": state["epoch"]}
        return entry

    def subscribe_all(self) -> str:
        entries = [self.entry(stream) for stream in self.streams]
        return json.dumps({"action": "subscribe", "request_id": "all", "streams": entries})

    async def run(self) -> None:
        first = True
        while not self.stopped:
            try:
                if first:
                    async with self.ramp:
                        socket = await self.target.open(subprotocols=["realtime.v2"], open_timeout=30)
                else:
                    socket = await self.target.open(subprotocols=["realtime.v2"], open_timeout=30)
            except (OSError, InvalidHandshake, TimeoutError):
                self.failed_connects += 1
                await asyncio.sleep(self.delay(None))
                continue
            first = False
            self.connects += 1
            opened = time.monotonic()
            code = None
            try:
                with contextlib.suppress(ConnectionClosed):
                    # A shed socket may be closed before this is sent; the frames it got are still read.
                    await socket.send(self.subscribe_all())
                async for text in socket:
                    await self.handle(socket, json.loads(text))
            except ConnectionClosed:
                pass
            finally:
                code = socket.close_code
                self.closes[code] += 1
                with contextlib.suppress(Exception):
                    await socket.close()
            if self.stopped:
                return
            if time.monotonic() - opened >= STABLE_S:
                self.backoff.attempt = 0
            hint, self.hint = self.hint, None
            await asyncio.sleep(self.delay(hint, code=code))

    def delay(self, hint: tuple[int, int] | None, code: int | None = None) -> float:
        if hint is not None:
            # The server restarts on purpose and said when to come back; the quick first retry is used up.
            self.backoff.attempt = max(self.backoff.attempt, 1)
            self.restarting = True
            return (hint[0] + random.random() * hint[1]) / 1000
        if code == 4500:
            self.backoff.attempt = max(self.backoff.attempt, 1)
        return self.backoff.next(RESTART_MAX_MS if self.restarting else MAX_MS)

    async def handle(self, socket: Any, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "events":
            for event in frame["events"]:
                await self.apply(socket, event)
        elif kind == "subscribed":
            for result in frame.get("results", [frame]):
                stream = result.get("stream")
                if stream not in self.streams:
                    continue
                state = self.streams[stream]
                if state["seq"] is not None and not result["recovered"]:
                    self.reloads += 1  # the client would reload the object over REST
                if state["seq"] is None or not result["recovered"] or result["seq"] > state["seq"]:
                    state["seq"] = result["seq"]
                state["epoch"] = result["epoch"]
            if all(state["seq"] is not None for state in self.streams.values()):
                self.subscribed_at = time.perf_counter()
                self.ready.set()
                self.restarting = False
        elif kind == "reconnect":
            self.hints += 1  # a stopping server's goodbye, or a busy one shedding the handshake
            self.hint = (frame["after_ms"], frame["spread_ms"])
        elif kind and kind.startswith("UPDATE_"):
            await self.apply(socket, frame)

    async def apply(self, socket: Any, event: dict[str, Any]) -> None:
        meta = event["meta"]
        state = self.streams.get(meta["stream"])
        if state is None or state["seq"] is None:
            return
        if meta["seq"] <= state["seq"]:
            self.duplicates += 1
        elif meta["seq"] == state["seq"] + 1:
            state["seq"] = meta["seq"]
            self.applied += 1
        else:
            self.gaps += 1
            entry = {"action": "subscribe", "request_id": "gap", **self.entry(meta["stream"])}
            await socket.send(json.dumps(entry))

    def behind(self, heads: dict[str, int]) -> int:
        """Events up to ``heads`` not applied yet."""
        return sum(max(0, heads[s] - (state["seq"] or 0)) for s, state in self.streams.items())

    async def stop(self) -> None:
        self.stopped = True
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task


async def daphne_floor(server: ServerProcess, *, sockets: int) -> dict[str, Any]:
    """The reference: ``sockets`` clients of the bare ASGI application (``bench.bare_asgi``) on one daphne process.

    Each opens a socket and sends one frame, ``RAMP_CONCURRENCY`` at a time as in the first connect, and waits for the
    answer; all stay open until the last is answered. Measured: how long that took and the CPU the daphne process
    spent per client (handshake, one frame each way, its timers over the open connections): the least a readmitted
    client can cost one daphne process.
    """
    limit = asyncio.Semaphore(RAMP_CONCURRENCY)
    opened: list[Any] = []
    bare = Target("bare ASGI app on daphne", server.port, server.pid)  # opened as the storm's clients are

    async def one() -> None:
        async with limit:
            socket = await bare.open(subprotocols=["realtime.v2"], open_timeout=60)
            opened.append(socket)
            await socket.send('{"action": "subscribe", "request_id": "all", "streams": []}')
            await socket.recv()

    cpu, started = cpu_seconds(server.pid), time.perf_counter()
    try:
        await asyncio.gather(*(one() for _ in range(sockets)))
        seconds, cpu = time.perf_counter() - started, cpu_seconds(server.pid) - cpu
    finally:
        for start in range(0, len(opened), 500):
            await asyncio.gather(*(s.close() for s in opened[start : start + 500]), return_exceptions=True)
    return {
        "sockets": sockets,
        "seconds": round(seconds, 2),
        "per_s": round(sockets / seconds, 1),
        "server_cpu_ms_per_client": round(cpu / sockets * 1000, 2),
    }


async def retried(request: Any, attempts: int = 5) -> httpx.Response:
    """A REST request, retried after a dropped connection (as a client would; the writer is under load too)."""
    for attempt in range(attempts):
        try:
            response = await request()
            response.raise_for_status()
            return response
        except httpx.TransportError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


async def head_of(target: OursTarget, obj: str) -> int:
    response = await retried(lambda: target.http.get(f"/api/foo/{obj}"))
    return response.json()["stream"]["seq"]


async def write_changes(writer: OursTarget, objects: list[str], *, changes: int, concurrency: int = 8) -> float:
    """``changes`` PATCHes per object, each object's in order, ``concurrency`` objects at a time; seconds.

    A retried PATCH may have been applied already: that is one more event, and the heads are read afterwards.
    """
    limit = asyncio.Semaphore(concurrency)
    started = time.perf_counter()

    async def one(obj: str) -> None:
        async with limit:
            for n in range(changes):
                body = {"bar": f"storm-{n}-{time.time()}"}
                await retried(lambda body=body: writer.http.patch(f"/api/foo/{obj}", json=body))

    await asyncio.gather(*(one(obj) for obj in objects))
    return time.perf_counter() - started


#: Seconds per step of the storm's timeline.
TIMELINE_STEP = 10.0


async def timeline(
    server: ServerProcess, clients: list[Client], *, since: float, gone: float, until: asyncio.Event
) -> list[Any]:
    """Every ``TIMELINE_STEP`` s after ``since``, and when ``until`` is set: ``[seconds, clients resubscribed since
    the process went away at ``gone``, the restarted process's CPU share since the step before]``.

    It tells a catch-up bound by the process's CPU (a share near 1.0 until the last client is in) from one bound by
    the clients' pacing (the share lower while clients are still out).
    """
    steps: list[Any] = []
    last, cpu = since, cpu_seconds(server.pid)
    while not until.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(until.wait(), TIMELINE_STEP)
        now, busy = time.perf_counter(), cpu_seconds(server.pid)
        back = sum(1 for c in clients if c.subscribed_at > gone)
        steps.append([round(now - since, 1), back, round((busy - cpu) / max(now - last, 1e-3), 2)])
        last, cpu = now, busy
    return steps


def attach_profiler(pid: int, output: Path) -> subprocess.Popen[bytes]:
    """py-spy recording the running process ``pid`` (the restarted server, while its clients catch up)."""
    command = profiled([], output=output)[:-1]  # py-spy record ... --  (without a command)
    return subprocess.Popen([*command, "--pid", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


async def restart(
    server: ServerProcess,
    clients: list[Client],
    writer: OursTarget,
    objects: list[str],
    *,
    changes: int,
    graceful: bool,
    catch_up_within: float,
    profile: Path | None = None,
    metrics_token: str = "",
) -> dict[str, Any]:
    """Kill (or SIGTERM) and restart ``server`` while ``changes`` changes per stream are written elsewhere.

    Besides the catch-up, it reports where the machine's CPU went meanwhile (the restarted process, this
    bench process with its clients, everything else: PostgreSQL, the writer) and how many database queries
    the restarted process ran per client (its ``realtime_db_queries_total``, which starts at 0 with it).
    """
    counters = ("connects", "failed_connects", "hints", "applied", "duplicates", "gaps", "reloads")
    before = {name: sum(getattr(c, name) for c in clients) for name in counters}
    closes_before = sum((c.closes for c in clients), Counter())
    seqs_before = [{stream: state["seq"] or 0 for stream, state in c.streams.items()} for c in clients]
    writes = asyncio.create_task(write_changes(writer, objects, changes=changes))
    stopped_at = time.perf_counter()
    if graceful:
        await asyncio.to_thread(server.stop)
    else:
        server.kill()
    down_s = time.perf_counter() - stopped_at
    await asyncio.to_thread(server.start, listening=True)
    answering = time.perf_counter()
    server_cpu, bench_cpu = cpu_seconds(server.pid), cpu_seconds(os.getpid())
    machine_busy, machine_total = machine_cpu_seconds()
    spy = attach_profiler(server.pid, profile) if profile is not None else None
    done = asyncio.Event()
    steps = asyncio.create_task(timeline(server, clients, since=answering, gone=stopped_at, until=done))
    write_s = await writes
    heads = {f"foo.{obj}": await head_of(writer, obj) for obj in objects}
    # Counted from where each client stood when the process went away: some may be caught up already.
    expected = sum(max(0, heads[stream] - seq) for seqs in seqs_before for stream, seq in seqs.items())
    deadline = answering + catch_up_within
    while time.perf_counter() < deadline:
        if all(c.behind(heads) == 0 for c in clients):
            break
        await asyncio.sleep(0.05)
    caught_up = time.perf_counter() - answering
    done.set()
    server_cpu, bench_cpu = cpu_seconds(server.pid) - server_cpu, cpu_seconds(os.getpid()) - bench_cpu
    machine_now = machine_cpu_seconds()
    busy, total = machine_now[0] - machine_busy, machine_now[1] - machine_total
    if spy is not None:
        spy.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT
        await asyncio.to_thread(spy.wait, 30)
    lost = sum(c.behind(heads) for c in clients)
    closes = sum((c.closes for c in clients), Counter()) - closes_before
    after = {name: sum(getattr(c, name) for c in clients) - before[name] for name in counters}
    return {
        "signal": "SIGTERM" if graceful else "SIGKILL",
        "stop_s": round(down_s, 2),
        "restart_to_answer_s": round(answering - stopped_at, 2),
        "writes_s": round(write_s, 2),
        "missed_events": expected,
        "caught_up_s": round(caught_up, 2) if lost == 0 else None,
        "lost": lost,
        **after,
        "close_codes": {str(code): n for code, n in closes.items()},
        "cpu_s": {
            "machine_busy": round(busy, 1),
            "machine_total": round(total, 1),
            "server": round(server_cpu, 1),
            "bench_clients": round(bench_cpu, 1),
            "other": round(busy - server_cpu - bench_cpu, 1),
        },
        "server_cpu_ms_per_client": round(server_cpu / len(clients) * 1000, 2),
        "timeline": await steps,
        "server_queries_per_client": (
            round(await clients[0].target.metric("realtime_db_queries_total", token=metrics_token) / len(clients), 2)
            if metrics_token
            else None
        ),
    }


async def storm(
    server: ServerProcess,
    target: OursTarget,
    writer: OursTarget,
    objects: list[str],
    *,
    sockets: int,
    per_socket: int,
    changes: int,
    catch_up_within: float = 120.0,
    graceful: bool = True,
    profile: Path | None = None,
    metrics_token: str = "",
) -> dict[str, Any]:
    """``sockets`` clients x ``per_socket`` streams on ``server``; a kill and (if ``graceful``) a SIGTERM restart."""
    ramp = asyncio.Semaphore(RAMP_CONCURRENCY)
    clients = [
        Client(target, [objects[(i * per_socket + n) % len(objects)] for n in range(per_socket)], ramp)
        for i in range(sockets)
    ]
    started = time.perf_counter()
    for client in clients:
        client.task = asyncio.create_task(client.run())
    result: dict[str, Any] = {"sockets": sockets, "per_socket": per_socket, "changes_per_stream": changes}
    try:
        async with asyncio.timeout(max(120.0, sockets / 5)):  # the first connects, at 25 or more a second
            await asyncio.gather(*(c.ready.wait() for c in clients))
        result["connect_s"] = round(time.perf_counter() - started, 1)
        result["streams"] = len(objects)
        result["kill"] = await restart(
            server,
            clients,
            writer,
            objects,
            changes=changes,
            graceful=False,
            catch_up_within=catch_up_within,
            profile=profile,
            metrics_token=metrics_token,
        )
        if graceful:
            await asyncio.sleep(STABLE_S)  # as a client that stayed connected, the backoff starts afresh
            result["graceful"] = await restart(
                server,
                clients,
                writer,
                objects,
                changes=changes,
                graceful=True,
                catch_up_within=catch_up_within,
                metrics_token=metrics_token,
            )
    finally:
        for start in range(0, len(clients), 500):
            await asyncio.gather(*(c.stop() for c in clients[start : start + 500]))
    return result
