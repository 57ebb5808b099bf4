"""Throughput of the shared layers, each beside a ceiling measured in the same run.

    .venv/bin/python benchmarks/state_bus.py            # every section
    .venv/bin/python benchmarks/state_bus.py --only state --seconds 2 --check

Sections (each an async function returning a SectionResult, registered in SECTIONS):

state
    saves/s and loads/s of every StateStore backend with 1 KiB documents at concurrency 1 and 32.
    Ceilings: for Redis, raw ``redis.asyncio`` SET/GET at the same concurrency on the same kind of
    pool -- the most a store making one round trip per call can reach with this client, so the
    ratio is the store's own overhead (Lua script, hash, JSON, checks); a raw pipeline of 100 SETs
    per round trip is printed beside it for scale, but a per-call API cannot batch and is not
    judged against it. For SQLite, a raw ``sqlite3`` loop on one connection with the same table
    and pragmas and one transaction per write. Goal: the Redis store at concurrency 32 reaches
    >= 50% of its ceiling.

bus
    messages/s of send + receive + ack with p50/p99 latency (send start to ack end) for the memory,
    Redis Streams and Redis pub/sub buses: 1 producer/consumer pair, 16 and 32 pairs, and 2
    processes of 16 pairs; each pair has its own inbox and one message in flight. Ceiling
    (Streams): raw ``redis.asyncio`` XADD / XREADGROUP / XACK on the same JSON text, pipelined
    across the pairs -- the most redis-py moves with this shape; the same commands one call at a
    time ("raw per call") are shown beside it. Goal, judged at 32 pairs in one process: Streams
    >= 10,000 msg/s with p99 < 5 ms.

A result and its ceiling are measured in alternating slices (A B B A A B ...), so that load from
other processes on the machine falls on both alike and the ratio stays honest.

Services: Redis at AGENTRIG_BENCH_REDIS_URL (default redis://127.0.0.1:6379/15; keys under a
unique prefix, deleted afterwards) and PostgreSQL at AGENTRIG_BENCH_POSTGRES_URL (a unique schema,
dropped afterwards). A backend whose service is absent is reported as skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from agentrig.core.messaging import MemoryMessageBus, Message, MessageBus, open_message_bus
from agentrig.core.state import StateStore, open_state_store

REDIS_URL = os.environ.get("AGENTRIG_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
POSTGRES_URL = os.environ.get(
    "AGENTRIG_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@dataclass
class Config:
    seconds: float  # measuring time per result (its ceiling gets as much again)
    warmup: float
    rounds: int = 4  # alternating slices per measurement


@dataclass
class Goal:
    name: str
    value: float
    target: float

    @property
    def met(self) -> bool:
        return self.value >= self.target


@dataclass
class SectionResult:
    tables: list[Table]
    notes: list[str] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)


# ---------------------------------------------------------------- shared helpers

Operation = Callable[[int, int], Awaitable[object]]  # (worker, iteration) -> awaitable
Timed = Callable[[float], Awaitable[int]]  # run for about this many seconds; return calls done


def concurrently(operation: Operation, concurrency: int) -> Timed:
    """``concurrency`` tasks calling ``operation`` back to back."""
    iterations = [0] * concurrency  # carried across slices, so keys keep cycling

    async def run_for(seconds: float) -> int:
        until = time.perf_counter() + seconds

        async def worker(index: int) -> int:
            done = 0
            while time.perf_counter() < until:
                await operation(index, iterations[index])
                iterations[index] += 1
                done += 1
            return done

        return sum(await asyncio.gather(*(worker(i) for i in range(concurrency))))

    return run_for


def in_a_thread(operation: Callable[[int], object]) -> Timed:
    """A plain blocking loop, run in a worker thread so the event loop stays free."""
    iteration = 0

    def loop(seconds: float) -> int:
        nonlocal iteration
        until = time.perf_counter() + seconds
        done = 0
        while time.perf_counter() < until:
            operation(iteration)
            iteration += 1
            done += 1
        return done

    async def run_for(seconds: float) -> int:
        return await asyncio.to_thread(loop, seconds)

    return run_for


async def rates(contenders: list[Timed], config: Config) -> list[float]:
    """Calls per second of each contender, measured in alternating slices after a warm-up."""
    for contender in contenders:
        await contender(config.warmup)
    calls = [0] * len(contenders)
    elapsed = [0.0] * len(contenders)
    for round_number in range(config.rounds):
        order = list(range(len(contenders)))
        if round_number % 2:
            order.reverse()
        for index in order:
            started = time.perf_counter()
            calls[index] += await contenders[index](config.seconds / config.rounds)
            elapsed[index] += time.perf_counter() - started
    return [count / seconds for count, seconds in zip(calls, elapsed, strict=True)]


def fmt_rate(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def fmt_ratio(value: float | None, ceiling: float | None) -> str:
    if value is None or not ceiling:
        return "—"
    return f"{value / ceiling:.0%}"


# ---------------------------------------------------------------- state store

STATE_CONCURRENCY = (1, 32)
KEYS_PER_WORKER = 16  # saves cycle over a few keys per worker, so documents are replaced
REDIS_GOAL = 0.50


def state_document() -> dict[str, object]:
    """A plant-state-like JSON object of exactly 1 KiB once encoded."""
    document: dict[str, object] = {
        "device": "pump-7",
        "status": "running",
        "readings": {"pressure_bar": 4.21, "flow_m3h": 118.5, "temperature_c": 61.25, "rpm": 1480},
        "alarms": [],
        "notes": "",
    }
    size = len(json.dumps(document, separators=(",", ":")).encode())
    document["notes"] = "x" * (1024 - size)
    assert len(json.dumps(document, separators=(",", ":")).encode()) == 1024
    return document


def state_key(worker: int, iteration: int) -> str:
    return f"bench/{worker}/{iteration % KEYS_PER_WORKER}"


@dataclass
class StateRow:
    backend: str
    concurrency: int
    saves: float | None = None
    loads: float | None = None
    save_ceiling: float | None = None
    load_ceiling: float | None = None
    note: str = ""


@dataclass
class Ceiling:
    """Raw save and load contenders for one backend, at one concurrency."""

    save: list[Timed]
    load: list[Timed]
    close: Callable[[], Awaitable[None]]
    describe: Callable[[list[float], list[float]], str] = lambda saves, loads: ""


async def redis_ceiling(prefix: str, concurrency: int) -> Ceiling:
    """Raw SET/GET at ``concurrency``; at concurrency 1 also 100-command pipelines, for scale."""
    import redis.asyncio as aioredis

    payload = json.dumps(state_document(), separators=(",", ":"))
    pool = aioredis.BlockingConnectionPool.from_url(REDIS_URL, max_connections=32)
    client = aioredis.Redis.from_pool(pool)

    def raw_key(worker: int, iteration: int) -> str:
        return f"{prefix}raw:{state_key(worker, iteration)}"

    async def raw_set(worker: int, iteration: int) -> object:
        return await client.set(raw_key(worker, iteration), payload)

    async def raw_get(worker: int, iteration: int) -> object:
        return await client.get(raw_key(worker, iteration))

    async def pipelined(command: str, worker: int, iteration: int) -> object:
        pipe = client.pipeline(transaction=False)
        for index in range(100):
            key = raw_key(worker, iteration * 100 + index)
            pipe.set(key, payload) if command == "set" else pipe.get(key)
        return await pipe.execute()

    save = [concurrently(raw_set, concurrency)]
    load = [concurrently(raw_get, concurrency)]
    if concurrency == 1:
        save.append(concurrently(lambda w, i: pipelined("set", w, i), 1))
        load.append(concurrently(lambda w, i: pipelined("get", w, i), 1))

    def describe(saves: list[float], loads: list[float]) -> str:
        if len(saves) < 2:
            return ""
        return (
            f"raw pipelines of 100 SET / GET: {fmt_rate(100 * saves[1])} / "
            f"{fmt_rate(100 * loads[1])} per s (batching a per-call API cannot do)"
        )

    return Ceiling(save, load, client.aclose, describe)


async def sqlite_ceiling(path: Path) -> Ceiling:
    """A raw sqlite3 loop: the store's table and pragmas, one transaction per write."""
    payload = json.dumps(state_document(), separators=(",", ":"))
    # Used from one thread at a time (in_a_thread awaits each slice), not always the same one.
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute(
        "CREATE TABLE IF NOT EXISTS raw (key TEXT PRIMARY KEY, version INTEGER NOT NULL, "
        "document TEXT NOT NULL) WITHOUT ROWID"
    )

    def write(iteration: int) -> object:
        return connection.execute(
            "INSERT INTO raw (key, version, document) VALUES (?, ?, ?) ON CONFLICT (key) "
            "DO UPDATE SET version = excluded.version, document = excluded.document",
            (state_key(0, iteration), iteration, payload),
        )

    def read(iteration: int) -> object:
        return connection.execute(
            "SELECT version, document FROM raw WHERE key = ?", (state_key(0, iteration),)
        ).fetchone()

    for iteration in range(KEYS_PER_WORKER):
        write(iteration)

    async def close() -> None:
        connection.close()

    return Ceiling([in_a_thread(write)], [in_a_thread(read)], close)


async def measure_state_row(
    store: StateStore, row: StateRow, ceiling: Ceiling | None, config: Config
) -> None:
    document = state_document()

    async def save(worker: int, iteration: int) -> int:
        return await store.save(state_key(worker, iteration), document)

    async def load(worker: int, iteration: int) -> object:
        loaded = await store.load(state_key(worker, iteration))
        assert loaded is not None, "every key is saved before loads are measured"
        return loaded

    for worker in range(row.concurrency):  # loads must find every key
        for index in range(KEYS_PER_WORKER):
            await store.save(state_key(worker, index), document)
    raw_saves = ceiling.save if ceiling else []
    raw_loads = ceiling.load if ceiling else []
    saves = await rates([concurrently(save, row.concurrency), *raw_saves], config)
    loads = await rates([concurrently(load, row.concurrency), *raw_loads], config)
    row.saves, row.loads = saves[0], loads[0]
    if ceiling:
        row.save_ceiling, row.load_ceiling = saves[1], loads[1]
        row.note = ceiling.describe(saves[1:], loads[1:])


async def service_problem(backend: str) -> str | None:
    """None when the backend's service answers, else why not."""
    if backend == "redis":
        try:
            import redis.asyncio as aioredis
        except ImportError:
            return "redis client not installed"
        client = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        try:
            await client.ping()
        except (OSError, aioredis.RedisError) as error:
            return f"Redis unreachable: {error}"
        finally:
            await client.aclose()
    if backend == "postgres":
        try:
            import psycopg
        except ImportError:
            return "psycopg not installed"
        try:
            connection = await psycopg.AsyncConnection.connect(POSTGRES_URL, connect_timeout=2)
        except psycopg.OperationalError as error:
            return f"PostgreSQL unreachable: {error}".splitlines()[0]
        await connection.close()
    return None


async def clean_up_redis(prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        for start in range(0, len(keys), 1000):
            await client.delete(*keys[start : start + 1000])
    finally:
        await client.aclose()


async def clean_up_postgres(schema: str) -> None:
    import psycopg
    from psycopg import sql

    async with await psycopg.AsyncConnection.connect(POSTGRES_URL, autocommit=True) as connection:
        await connection.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
        )


async def state_rows(config: Config, workdir: Path) -> list[StateRow]:
    run = uuid.uuid4().hex[:10]
    redis_prefix = f"agentrig-bench:{run}:"
    postgres_schema = f"agentrig_bench_{run}"

    def with_option(url: str, option: str) -> str:
        return f"{url}{'&' if '?' in url else '?'}{option}"

    urls = {
        "memory": "memory://",
        "file": f"file://{workdir / 'files'}",
        "sqlite": f"sqlite:///{workdir / 'state.db'}",
        "redis": with_option(REDIS_URL, f"prefix={redis_prefix}"),
        "postgres": with_option(POSTGRES_URL, f"schema={postgres_schema}"),
    }
    problems = {backend: await service_problem(backend) for backend in urls}
    rows: list[StateRow] = []
    try:
        for backend, url in urls.items():
            for concurrency in STATE_CONCURRENCY:
                row = StateRow(backend, concurrency)
                rows.append(row)
                if problems[backend]:
                    row.note = f"skipped: {problems[backend]}"
                    continue
                ceiling = None
                if backend == "redis":
                    ceiling = await redis_ceiling(redis_prefix, concurrency)
                elif backend == "sqlite":
                    ceiling = await sqlite_ceiling(workdir / f"raw-{concurrency}.db")
                try:
                    async with open_state_store(url) as store:
                        await measure_state_row(store, row, ceiling, config)
                finally:
                    if ceiling:
                        await ceiling.close()
    finally:
        if not problems["redis"]:
            await clean_up_redis(redis_prefix)
        if not problems["postgres"]:
            await clean_up_postgres(postgres_schema)
    return rows


async def state_section(config: Config) -> SectionResult:
    with tempfile.TemporaryDirectory(prefix="agentrig-bench-") as workdir:
        rows = await state_rows(config, Path(workdir))
    table = Table(title="StateStore: 1 KiB documents, operations per second")
    for column in (
        "backend",
        "conc.",
        "saves/s",
        "ceiling",
        "ratio",
        "loads/s",
        "ceiling",
        "ratio",
    ):
        table.add_column(column, justify="left" if column == "backend" else "right")
    result = SectionResult(
        [table],
        notes=[
            "redis ceiling: raw redis.asyncio SET / GET, same concurrency, same pool size (32)",
            "sqlite ceiling: raw sqlite3 loop in one thread, same table, WAL, synchronous=NORMAL",
        ],
    )
    for row in rows:
        table.add_row(
            row.backend,
            str(row.concurrency),
            fmt_rate(row.saves),
            fmt_rate(row.save_ceiling),
            fmt_ratio(row.saves, row.save_ceiling),
            fmt_rate(row.loads),
            fmt_rate(row.load_ceiling),
            fmt_ratio(row.loads, row.load_ceiling),
        )
        if row.note:
            result.notes.append(f"{row.backend} c={row.concurrency}: {row.note}")
        if row.backend == "redis" and row.concurrency == 32:
            for name, value, ceiling in (
                ("saves", row.saves, row.save_ceiling),
                ("loads", row.loads, row.load_ceiling),
            ):
                if value and ceiling:
                    result.goals.append(
                        Goal(f"Redis store {name} at c=32 / ceiling", value / ceiling, REDIS_GOAL)
                    )
    return result


# ---------------------------------------------------------------- message bus
# Owned by the message bus; see the "bus" paragraph of the module docstring.

BUS_GOAL_RATE = 10_000.0  # Redis Streams: messages per second ...
BUS_GOAL_P99_MS = 5.0  # ... with a p99 send+receive+ack latency under this


@dataclass(frozen=True)
class BusShape:
    """``pairs`` producer/consumer pairs in each of ``processes`` processes, one inbox per pair;
    each pair sends, receives and acks one message at a time (closed loop, window 1)."""

    pairs: int
    processes: int = 1

    @property
    def label(self) -> str:
        if self.processes == 1:
            return f"{self.pairs} pair{'s' if self.pairs > 1 else ''}"
        return f"{self.processes} processes x {self.pairs} pairs"


BUS_SHAPES = (BusShape(1), BusShape(16), BusShape(32), BusShape(16, processes=2))
BUS_GOAL_SHAPE = BusShape(32)  # the goals are judged here: one process, 32 agents' inboxes
BUS_CONTENDERS = ("memory", "redis streams", "redis pub/sub", "raw per call", "raw pipelined")
BUS_CEILING = "raw pipelined"


@dataclass
class BusSample:
    """What one contender did in one process: messages, seconds spent, each message's latency."""

    messages: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)


BusLoop = Callable[[float, BusSample], Awaitable[None]]  # run about this long, record into sample


def bus_message(pair: int) -> Message:
    """A handoff-like message of about 500 bytes once encoded."""
    return Message(
        type="handoff",
        sender="diagnostician",
        recipient=f"bench-{pair}",
        correlation_id="bench-run",
        content={"device": "pump-7", "pressure_bar": 4.21, "finding": "x" * 256},
    )


def bus_pair_loops(sender: MessageBus, receiver: MessageBus, pairs: int) -> BusLoop:
    """Each pair: send, receive, ack; the latency is from the send to the end of the ack."""

    async def run_for(seconds: float, sample: BusSample) -> None:
        until = time.perf_counter() + seconds

        async def pair_loop(pair: int) -> None:
            message, inbox = bus_message(pair), f"bench-{pair}"
            while time.perf_counter() < until:
                started = time.perf_counter()
                await sender.send(message)
                delivery = await receiver.receive(inbox, timeout=5.0)
                assert delivery is not None, f"{inbox}: a sent message did not arrive"
                await receiver.ack(delivery)
                sample.latencies.append(time.perf_counter() - started)
                sample.messages += 1

        await asyncio.gather(*(pair_loop(pair) for pair in range(pairs)))

    return run_for


def raw_streams_loop(client: Any, prefix: str, pairs: int, pipelined: bool) -> BusLoop:
    """The ceiling: XADD, XREADGROUP, XACK with redis.asyncio on the same message text.

    Per call: each pair issues its own three commands, as the bus's API does.
    Pipelined: one task moves a message through every pair's stream with three round trips in
    all (a pipeline of XADDs, one XREADGROUP over every stream, a pipeline of XACKs) -- the most
    redis-py can do with this shape, and what the bus's batching tries to approach.
    """
    payload = bus_message(0).model_dump_json()
    streams = [f"{prefix}raw-{pair}" for pair in range(pairs)]

    async def read(names: list[str]) -> dict[str, bytes]:
        ids: dict[str, bytes] = {}
        while len(ids) < len(names):
            missing = {name: ">" for name in names if name not in ids}
            reply = await client.xreadgroup("bench", "raw", missing, count=1, block=5000)
            for stream, entries in reply:
                ids[stream.decode()] = entries[0][0]
        return ids

    async def run_for(seconds: float, sample: BusSample) -> None:
        for stream in streams:
            with contextlib.suppress(Exception):  # BUSYGROUP after the warm-up
                await client.xgroup_create(stream, "bench", id="0", mkstream=True)
        until = time.perf_counter() + seconds

        async def per_call(stream: str) -> None:
            while time.perf_counter() < until:
                started = time.perf_counter()
                await client.xadd(stream, {"message": payload})
                entry_id = (await read([stream]))[stream]
                await client.xack(stream, "bench", entry_id)
                sample.latencies.append(time.perf_counter() - started)
                sample.messages += 1

        async def all_at_once() -> None:
            while time.perf_counter() < until:
                started = time.perf_counter()
                pipe = client.pipeline(transaction=False)
                for stream in streams:
                    pipe.xadd(stream, {"message": payload})
                await pipe.execute()
                ids = await read(streams)
                pipe = client.pipeline(transaction=False)
                for stream, entry_id in ids.items():
                    pipe.xack(stream, "bench", entry_id)
                await pipe.execute()
                elapsed = time.perf_counter() - started
                sample.latencies.extend([elapsed] * pairs)
                sample.messages += pairs

        if pipelined:
            await all_at_once()
        else:
            await asyncio.gather(*(per_call(stream) for stream in streams))

    return run_for


async def bus_measure(
    pairs: int, prefix: str, config: Config, start_at: float
) -> dict[str, BusSample]:
    """Every contender in this process, in alternating slices after a warm-up.

    ``start_at`` (wall clock) lines up the processes of a multi-process shape, so that they
    measure the same contender at the same time.
    """
    import redis.asyncio as aioredis

    def url(scheme: str) -> str:
        return f"{scheme}{REDIS_URL.removeprefix('redis')}?prefix={prefix}"

    memory = MemoryMessageBus()
    streams = [open_message_bus(url("redis")) for _ in range(2)]  # sender's, receiver's
    pubsub = [open_message_bus(url("redis+pubsub")) for _ in range(2)]
    raw = aioredis.Redis.from_url(REDIS_URL)
    for pair in range(pairs):  # declared before anything is sent: pub/sub keeps nothing otherwise
        for receiver in (memory, streams[1], pubsub[1]):
            await receiver.declare_inbox(f"bench-{pair}")
    loops: dict[str, BusLoop] = {
        "memory": bus_pair_loops(memory, memory, pairs),
        "redis streams": bus_pair_loops(streams[0], streams[1], pairs),
        "redis pub/sub": bus_pair_loops(pubsub[0], pubsub[1], pairs),
        "raw per call": raw_streams_loop(raw, prefix, pairs, pipelined=False),
        "raw pipelined": raw_streams_loop(raw, prefix, pairs, pipelined=True),
    }
    samples = {name: BusSample() for name in loops}
    try:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        for loop in loops.values():
            await loop(config.warmup, BusSample())
        for round_number in range(config.rounds):
            names = list(loops) if round_number % 2 == 0 else list(reversed(loops))
            for name in names:
                started = time.perf_counter()
                await loops[name](config.seconds / config.rounds, samples[name])
                samples[name].seconds += time.perf_counter() - started
    finally:
        for pair in range(pairs):
            for receiver in (memory, streams[1], pubsub[1]):
                await receiver.release_inbox(f"bench-{pair}")
        for bus in (memory, *streams, *pubsub):
            await bus.close()
        await raw.aclose()
    return samples


def bus_measure_in_process(
    pairs: int, prefix: str, config: Config, start_at: float
) -> dict[str, BusSample]:
    """Entry point of a worker process (spawned: a fresh interpreter, a fresh event loop)."""
    return asyncio.run(bus_measure(pairs, prefix, config, start_at))


async def bus_shape_samples(
    shape: BusShape, prefix: str, config: Config
) -> list[dict[str, BusSample]]:
    if shape.processes == 1:
        return [await bus_measure(shape.pairs, prefix, config, time.time())]
    # Each worker process gets its own prefix (its own inboxes); they start together.
    start_at = time.time() + 3.0  # time for the workers to import agentrig and connect
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(shape.processes, mp_context=context) as pool:
        futures = [
            asyncio.wrap_future(
                pool.submit(bus_measure_in_process, shape.pairs, f"{prefix}p{n}:", config, start_at)
            )
            for n in range(shape.processes)
        ]
        return list(await asyncio.gather(*futures))


def percentile_ms(latencies: list[float], fraction: float) -> float:
    ordered = sorted(latencies)
    return 1000 * ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def bus_section(config: Config) -> SectionResult:
    problem = await service_problem("redis")
    if problem:
        return SectionResult([], notes=[f"message bus section skipped: {problem}"])
    prefix = f"agentrig-bench:{uuid.uuid4().hex[:10]}:"
    table = Table(title="MessageBus: send + receive + ack, one message at a time per pair")
    for column in ("shape", "contender", "msg/s", "p50 ms", "p99 ms", "vs ceiling"):
        table.add_column(column, justify="left" if column in ("shape", "contender") else "right")
    result = SectionResult(
        [table],
        notes=[
            "latency: from the start of send to the end of ack; each pair has its own inbox",
            "ceiling: raw redis.asyncio XADD / XREADGROUP / XACK on the same JSON, pipelined "
            "across the pairs (three round trips move one message through every pair); 'raw "
            "per call' is the same commands one call at a time, as a naive client issues them",
            "processes: separate worker processes, each with its own inboxes, measured together",
        ],
    )
    goal_result: tuple[float, float] | None = None  # Redis Streams in BUS_GOAL_SHAPE: msg/s, p99
    try:
        for shape in BUS_SHAPES:
            per_process = await bus_shape_samples(shape, prefix, config)
            stats: dict[str, tuple[float, float, float]] = {}  # msg/s, p50 ms, p99 ms
            for name in BUS_CONTENDERS:
                if name == "memory" and shape.processes > 1:
                    continue  # an in-process bus does not span processes
                samples = [process_samples[name] for process_samples in per_process]
                latencies = [value for sample in samples for value in sample.latencies]
                stats[name] = (
                    sum(sample.messages / sample.seconds for sample in samples),
                    percentile_ms(latencies, 0.50),
                    percentile_ms(latencies, 0.99),
                )
            ceiling = stats[BUS_CEILING][0]
            for name, (rate, p50, p99) in stats.items():
                judged = name == "redis streams"  # the ceiling is a Streams one
                table.add_row(
                    shape.label,
                    name,
                    fmt_rate(rate),
                    f"{p50:.2f}",
                    f"{p99:.2f}",
                    fmt_ratio(rate, ceiling) if judged else "",
                )
            table.add_section()
            if shape == BUS_GOAL_SHAPE:
                rate, _, p99 = stats["redis streams"]
                goal_result = (rate, p99)
    finally:
        await clean_up_redis(prefix)
    if goal_result:  # both at once, in one shape fixed in advance
        rate, p99 = goal_result
        label = BUS_GOAL_SHAPE.label
        result.goals.append(
            Goal(f"Redis Streams msg/s ({label}) / {BUS_GOAL_RATE:,.0f}", rate / BUS_GOAL_RATE, 1.0)
        )
        result.goals.append(
            Goal(
                f"Redis Streams {BUS_GOAL_P99_MS:g} ms / p99 ({label})", BUS_GOAL_P99_MS / p99, 1.0
            )
        )
    return result


# ---------------------------------------------------------------- sections

Section = Callable[[Config], Awaitable[SectionResult]]
SECTIONS: dict[str, Section] = {
    "state": state_section,
    "bus": bus_section,
}


async def run(names: list[str], config: Config, console: Console) -> list[Goal]:
    goals: list[Goal] = []
    for name in names:
        started = time.perf_counter()
        result = await SECTIONS[name](config)
        for table in result.tables:
            console.print(table)
        for note in result.notes:
            console.print(f"  {note}")
        console.print(f"  section {name!r} took {time.perf_counter() - started:.1f} s\n")
        goals.extend(result.goals)
    return goals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append", help="repeatable")
    parser.add_argument("--seconds", type=float, default=0.6, help="measuring time per result")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args()
    config = Config(seconds=args.seconds, warmup=min(0.15, args.seconds / 4))
    console = Console(width=max(Console().width, 100))
    started = time.perf_counter()
    goals = asyncio.run(run(args.only or list(SECTIONS), config, console))
    for goal in goals:
        mark = "[green]met[/]" if goal.met else "[red]MISSED[/]"
        console.print(f"{goal.name}: {goal.value:.0%} (goal >= {goal.target:.0%}) {mark}")
    console.print(f"total {time.perf_counter() - started:.1f} s")
    return 1 if args.check and not all(goal.met for goal in goals) else 0


if __name__ == "__main__":
    sys.exit(main())
