"""The buffer between the proxy and the analytics workers: at least once, in order per bot.

The proxy pushes one JSON record per update (metadata only, never content); a
push never raises: if the buffer is down the records are counted as lost (in
the database, as soon as it can be reached) and the forward goes on.

With REDIS_URL the buffer is a set of Redis streams, ANALYTICS_SHARDS of them:
a bot's records always go to the same stream, so a stream's records can be
worked out by one worker at a time without racing another worker over the same
bot's end users and counters, while several workers drain different streams in
parallel. Per stream:

- a worker leases the stream for one batch (SET NX with ANALYTICS_LEASE_SECONDS,
  let go once the batch is acknowledged), so a killed worker holds it that long
  at most, and only that stream;
- it first takes over what the consumer group delivered and nobody
  acknowledged (XAUTOCLAIM: a killed or lease-losing worker's batch), then reads
  new entries (XREADGROUP with a consumer name of its own process);
- it acknowledges and deletes the entries (XACK + XDEL) only after their
  statistics committed. A record written but not acknowledged is skipped when
  delivered again (analytics.models.DrainedRecord, written in the same
  transaction as the statistics);
- an entry delivered more than ANALYTICS_MAX_DELIVERIES times (it kills the
  worker each time) is counted as failed and acknowledged, never retried forever.

Nothing trims the streams: entries leave them once written, so a stream holds the
backlog and no more, and no record is dropped unseen. If Redis runs out of memory
pushes fail and are counted as lost.

Without REDIS_URL the buffer is a table every process can reach: rows are taken
with SELECT ... FOR UPDATE SKIP LOCKED and deleted in the transaction that
writes their statistics (services.records_drain).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import socket
import threading
import time
import uuid
import zlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import redis
from django.conf import settings
from django.db import connection, transaction

logger = logging.getLogger(__name__)

STREAM = "bp:buffer:{shard}"
LEASE = "bp:buffer:{shard}:lease"
GROUP = "drain"
FIELD = "r"
# A stream entry's id "<ms>-<seq>" as one number, with room for the shard in the low bits.
SEQ_SPACE = 100_000
SHARD_SPACE = 32

_client: redis.Redis | None = None
_client_lock = threading.Lock()
_lost_lock = threading.Lock()
_lost_unreported = 0
_last_loss_log = 0.0
_last_loss_report = 0.0
_consumer = threading.local()
_worker_client: tuple[str, redis.Redis] | None = None

# Only the holder may release a lease.
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"


def redis_client() -> redis.Redis | None:
    """A process-wide Redis client with short timeouts, or None without REDIS_URL."""
    global _client
    if not settings.REDIS_URL:
        return None
    if _client is None:
        with _client_lock:
            if _client is None:
                _client = redis.Redis.from_url(
                    settings.REDIS_URL,
                    socket_timeout=0.25,
                    socket_connect_timeout=0.25,
                    health_check_interval=30,
                )
    return _client


def shard_of(record: Any) -> int:
    bot = record.get("bot") if isinstance(record, dict) else None
    return zlib.crc32(bot.encode()) % settings.ANALYTICS_SHARDS if isinstance(bot, str) else 0


def stream_key(shard: int) -> str:
    return STREAM.format(shard=shard)


def entry_key(shard: int, entry_id: str | bytes) -> int:
    """A stream entry as one number (what DrainedRecord keeps), ordered like the entries."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return (int(ms) * SEQ_SPACE + min(int(seq or 0), SEQ_SPACE - 1)) * SHARD_SPACE + shard


# --- the proxy's side --------------------------------------------------------------------------
def record_push(record: dict[str, Any]) -> bool:
    """Queue one record for the workers. Returns False (and counts it) if it was lost.

    The proxy calls this on a request's thread when its recorder is backed up: losses are only counted
    here, and reported to the database by the recorder's next push, so no request waits on the database.
    """
    return records_push([record], report=False)


def records_push(records: list[dict[str, Any]], *, report: bool = True) -> bool:
    """Queue several records in one round trip (the proxy batches its updates). On failure all count as lost."""
    if not records:
        return True
    client = redis_client()
    try:
        if client is None:
            from analytics.models import BufferedRecord

            BufferedRecord.objects.bulk_create([BufferedRecord(payload=_dumps(r)) for r in records])
        else:
            pipe = client.pipeline(transaction=False)
            for record in records:
                pipe.xadd(stream_key(shard_of(record)), {FIELD: _dumps(record)})
            pipe.execute()
    except Exception as exc:  # any failure of the buffer must not fail the forward
        _count_loss(exc, len(records))
        if report:
            _report_losses()
        return False
    if report:
        _report_losses()
    return True


def _dumps(record: Any) -> str:
    return json.dumps(record, separators=(",", ":"))


def lost_count() -> int:
    """Records lost because the buffer was down: those counted in the database plus this process's."""
    from analytics.models import PipelineCounter

    stored = 0
    with contextlib.suppress(Exception):
        stored = (
            PipelineCounter.objects.filter(name=PipelineCounter.RECORDS_LOST).values_list("value", flat=True).first()
            or 0
        )
    return stored + _lost_unreported


def _count_loss(exc: Exception, count: int = 1) -> None:
    global _lost_unreported, _last_loss_log
    with _lost_lock:
        _lost_unreported += count
        now = time.monotonic()
        should_log = now - _last_loss_log > 10
        if should_log:
            _last_loss_log = now
    if should_log:  # one line per ten seconds, not one per update
        logger.warning("buffer_unavailable error=%s lost_in_process=%d", type(exc).__name__, _lost_unreported)


def _report_losses(*, force: bool = False) -> None:
    """Add this process's losses to the counter staff see, in the database (not in Redis, which may be
    what failed, and forgets them when it restarts). At most once a second; kept here until it works."""
    global _lost_unreported, _last_loss_report
    if not _lost_unreported:
        return
    now = time.monotonic()
    if not force and now - _last_loss_report < 1.0:
        return
    with _lost_lock:
        count, _lost_unreported = _lost_unreported, 0
        _last_loss_report = now
    try:
        from analytics.models import PipelineCounter
        from analytics.services import counter_add

        counter_add(name=PipelineCounter.RECORDS_LOST, n=count)
    except Exception:
        with _lost_lock:
            _lost_unreported += count


def losses_flush() -> None:
    """Report what this process lost now (at exit, tests)."""
    _report_losses(force=True)


# --- the workers' side -------------------------------------------------------------------------
@dataclass
class Batch:
    """Entries taken from one stream: acknowledged together once their statistics are written."""

    shard: int
    ids: list[bytes] = field(default_factory=list)  # every entry taken
    deliveries: list[int] = field(default_factory=list)  # times each was delivered, this time included
    records: list[Any] = field(default_factory=list)  # decoded records to write (None: not JSON)
    keys: list[int] = field(default_factory=list)  # entry_key of each record
    given_up: list[int] = field(default_factory=list)  # entry_key of entries delivered too often


def consumer_name() -> str:
    """This thread's name in the consumer groups. A forked child, and each thread of a threads pool, gets its own:
    a lease is released only by the name that holds it, so two threads sharing one could free each other's."""
    pid = os.getpid()
    if getattr(_consumer, "pid", None) != pid:
        _consumer.pid = pid
        _consumer.name = f"{socket.gethostname()}:{pid}:{threading.get_ident()}:{uuid.uuid4().hex[:6]}"
    return str(_consumer.name)


def shards() -> list[int]:
    """The streams in an order of this call's own, so workers starting together spread over them."""
    order = list(range(settings.ANALYTICS_SHARDS))
    random.shuffle(order)
    return order


def _lease_ms() -> int:
    return int(settings.ANALYTICS_LEASE_SECONDS * 1000)


def lease_take(shard: int, consumer: str) -> bool:
    client = _required_client()
    return bool(client.set(LEASE.format(shard=shard), consumer, nx=True, px=_lease_ms()))


def lease_renew(shard: int, consumer: str) -> bool:
    """Whether ``consumer`` still holds the stream's lease; if so it runs a full lease time again."""
    try:
        return bool(_required_client().eval(_RENEW, 1, LEASE.format(shard=shard), consumer, _lease_ms()))
    except redis.RedisError:
        return False


def lease_release(shard: int, consumer: str) -> None:
    with contextlib.suppress(redis.RedisError):
        _required_client().eval(_RELEASE, 1, LEASE.format(shard=shard), consumer)


def _required_client() -> redis.Redis:
    """The workers' client: longer timeouts than the proxy's (a full batch is megabytes, and a busy
    machine may keep Redis from answering within the proxy's quarter second)."""
    global _worker_client
    url = settings.REDIS_URL
    assert url, "the stream buffer needs REDIS_URL"
    if _worker_client is None or _worker_client[0] != url:
        with _client_lock:
            client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=1, health_check_interval=30)
            _worker_client = (url, client)
    return _worker_client[1]


def _group_create(client: redis.Redis, key: str) -> None:
    with contextlib.suppress(redis.ResponseError):  # BUSYGROUP: it exists
        client.xgroup_create(key, GROUP, id="0", mkstream=True)


def batch_read(shard: int, consumer: str, limit: int) -> Batch | None:
    """The next entries of a leased stream: first those delivered and never acknowledged, then new ones.

    Under the lease nobody else reads the stream, so whatever is pending belongs to a worker that died
    or lost the lease (its batch outlasted ANALYTICS_LEASE_SECONDS): it is taken over at once,
    before newer entries, so a bot's records are still written in order.
    """
    client = _required_client()
    key = stream_key(shard)
    try:
        claimed: Any = client.xautoclaim(key, GROUP, consumer, min_idle_time=0, start_id="0-0", count=limit)
    except redis.ResponseError as exc:
        if "NOGROUP" not in str(exc):
            raise
        _group_create(client, key)
        claimed = [b"0-0", [], []]
    messages = [(entry_id, fields) for entry_id, fields in claimed[1] if fields]
    deliveries: dict[bytes, int] = {}
    if messages:
        pending: Any = client.xpending_range(key, GROUP, min=messages[0][0], max=messages[-1][0], count=len(messages))
        deliveries = {row["message_id"]: int(row["times_delivered"]) for row in pending}
    else:
        read: Any = client.xreadgroup(GROUP, consumer, {key: ">"}, count=limit)
        messages = read[0][1] if read else []
    if not messages:
        return None
    batch = Batch(shard=shard)
    for entry_id, fields in messages:
        times = deliveries.get(entry_id, 1)
        batch.ids.append(entry_id)
        batch.deliveries.append(times)
        if times > settings.ANALYTICS_MAX_DELIVERIES:
            batch.given_up.append(entry_key(shard, entry_id))
            continue
        try:
            record = json.loads(fields[FIELD.encode()])
        except (KeyError, ValueError):
            record = None  # counted as invalid by the drain
        batch.records.append(record)
        batch.keys.append(entry_key(shard, entry_id))
    return batch


def batch_ack(batch: Batch) -> None:
    """The batch is written: it leaves the pending list and the stream."""
    if not batch.ids:
        return
    key = stream_key(batch.shard)
    pipe = _required_client().pipeline(transaction=True)
    pipe.xack(key, GROUP, *batch.ids)
    pipe.xdel(key, *batch.ids)
    pipe.execute()


def batch_release(batch: Batch, consumer: str) -> None:
    """The batch could not be written for a reason of the moment (the database is away): it stays
    pending, and this delivery does not count towards ANALYTICS_MAX_DELIVERIES."""
    by_count: dict[int, list[Any]] = defaultdict(list)
    for entry_id, times in zip(batch.ids, batch.deliveries, strict=True):
        by_count[times - 1].append(entry_id)
    client = _required_client()
    with contextlib.suppress(redis.RedisError):
        for count, ids in by_count.items():
            client.xclaim(stream_key(batch.shard), GROUP, consumer, 0, ids, retrycount=count, justid=True)


def drained_floor() -> int:
    """An entry_key below which every entry of every stream is acknowledged (DrainedRecord keeps no more).

    Per stream the oldest entry not acknowledged: the oldest pending, or else the oldest not yet read;
    entries pushed from now on get later ids (Redis's clock).
    """
    client = _required_client()
    seconds, micros = client.time()
    floors = [(seconds * 1000 + micros // 1000) * SEQ_SPACE * SHARD_SPACE]
    for shard in range(settings.ANALYTICS_SHARDS):
        key = stream_key(shard)
        try:
            summary: Any = client.xpending(key, GROUP)
        except redis.ResponseError:  # no stream or group yet
            summary = {"pending": 0}
        if summary["pending"]:
            floors.append(entry_key(shard, summary["min"]) - shard)
            continue
        first: Any = client.xrange(key, count=1)
        if first:
            floors.append(entry_key(shard, first[0][0]) - shard)
    return min(floors)


@contextlib.contextmanager
def table_batch(limit: int) -> Iterator[list[Any]]:
    """Rows of the table buffer, taken for the caller's transaction: deleted if it commits, left if not.

    On PostgreSQL a transaction-scoped advisory lock lets one such transaction run at a time (concurrent
    drains would race over the same bots' counters); it ends with the transaction, or the connection of a
    killed worker, so it can never be left behind.
    """
    from analytics.models import BufferedRecord

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('analytics-table-buffer'))")
        rows = list(
            BufferedRecord.objects.select_for_update(skip_locked=True)
            .order_by("id")
            .values_list("id", "payload")[:limit]
        )
        records = []
        for _, payload in rows:
            try:
                records.append(json.loads(payload))
            except ValueError:
                records.append(None)
        yield records
        if rows:
            BufferedRecord.objects.filter(id__in=[row_id for row_id, _ in rows]).delete()


def records_pop(limit: int) -> list[dict[str, Any]]:
    """Take up to ``limit`` records away, oldest first per stream, without writing them (inspection, tests)."""
    if redis_client() is None:
        with table_batch(limit) as records:
            return records
    consumer = consumer_name()
    taken: list[Any] = []
    for shard in range(settings.ANALYTICS_SHARDS):
        while len(taken) < limit:
            batch = batch_read(shard, consumer, limit - len(taken))
            if batch is None:
                break
            batch_ack(batch)
            taken.extend(batch.records)
    return taken


def buffer_length() -> int:
    """Records waiting, those read and not yet written included."""
    client = redis_client()
    if client is None:
        from analytics.models import BufferedRecord

        return BufferedRecord.objects.count()
    pipe = client.pipeline(transaction=False)
    for shard in range(settings.ANALYTICS_SHARDS):
        pipe.xlen(stream_key(shard))
    return sum(int(n) for n in pipe.execute())


def buffer_clear() -> None:
    """Forget every stream and lease (tests, benchmarks)."""
    client = redis_client()
    if client is not None:
        keys = [key.format(shard=s) for s in range(SHARD_SPACE) for key in (STREAM, LEASE)]
        with contextlib.suppress(redis.RedisError):
            client.delete(*keys)
