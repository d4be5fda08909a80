"""The embedded Celery broker: kombu's folder-based transport, made safe for several processes.

kombu's filesystem transport creates a message file and then writes into it, and its
consumer reads any file it finds: a worker that polls in between reads an empty file
and dies with ``JSONDecodeError`` (the whole ``make demo`` with it). Its exchange
tables are rewritten in place the same way, and a consumer "claims" a message by
moving it to the system's temporary folder, which is a copy, not a claim, when that
folder is on another file system. Here every file is written under another name in a
staging folder and renamed into place (a rename is atomic within one file system),
a consumer claims a message by renaming it into a folder of its own, and a message
that still cannot be read is set aside, logged, rather than taking the worker down.

Settings: ``CELERY_BROKER_URL=filesystem://`` (the default) selects this transport
(config/settings.py sets ``CELERY_BROKER_TRANSPORT``); the folders live under ``var/celery``.
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from queue import Empty
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import dumps, loads
from kombu.utils.objects import cached_property

logger = logging.getLogger(__name__)

_sequence = itertools.count()
TABLE_READ_TRIES = 5  # a table written by an older kombu in place may be caught mid-write


def write_atomic(path: Path, data: bytes, *, staging: Path) -> None:
    """Write ``data`` to ``path`` so that a reader sees either nothing or all of it."""
    staging.mkdir(parents=True, exist_ok=True)
    temporary = staging / f".{uuid.uuid4().hex}.tmp"
    try:
        with open(temporary, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise ChannelError(f"Cannot write {path}") from exc


class Channel(filesystem.Channel):  # type: ignore[misc]
    @cached_property
    def _root(self) -> Path:
        return Path(self.data_folder_out).parent

    @cached_property
    def staging_folder(self) -> Path:
        """Where files are written before they are renamed into place (same file system as the queue)."""
        folder = Path(self.transport_options.get("staging_folder") or self._root / "staging")
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @cached_property
    def claimed_folder(self) -> Path:
        folder = Path(self.transport_options.get("claimed_folder") or self._root / "claimed")
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @cached_property
    def unreadable_folder(self) -> Path:
        folder = Path(self.transport_options.get("unreadable_folder") or self._root / "unreadable")
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # --- messages ---------------------------------------------------------------------------

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        # Zero-padded, so that the names sort in the order the messages were sent (the counter orders
        # the messages of one process sent within the clock's resolution).
        name = f"{time.monotonic_ns():020d}{next(_sequence) % 1_000_000:06d}_{uuid.uuid4()}.{queue}.msg"
        write_atomic(Path(self.data_folder_out) / name, dumps(payload).encode(), staging=self.staging_folder)

    def _get(self, queue: str) -> Any:  # type: ignore[override]
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = self.claimed_folder / name
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except FileNotFoundError:
                continue  # another consumer claimed it first
            try:
                payload = claimed.read_bytes()
                message = loads(bytes_to_str(payload))
            except (OSError, ValueError) as exc:
                # Never crash the worker on one bad file: set it aside where an operator can look.
                logger.error("broker_message_unreadable queue=%s file=%s error=%s", queue, name, type(exc).__name__)
                with suppress(OSError):
                    os.replace(claimed, self.unreadable_folder / name)
                continue
            claimed.unlink(missing_ok=True)
            return message
        raise Empty()

    # --- exchange tables (which queues a fanout or topic exchange reaches) -------------------

    @contextmanager
    def _table_lock(self, exchange: str) -> Iterator[None]:
        """One writer of an exchange's table at a time; readers need no lock (writes are renames)."""
        self.control_folder.mkdir(parents=True, exist_ok=True)
        with open(self.control_folder / f".{exchange}.lock", "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def get_table(self, exchange: str) -> list[Any]:
        file = self._exchange_file(exchange)  # type: ignore[attr-defined]
        for attempt in range(TABLE_READ_TRIES):
            try:
                table = loads(bytes_to_str(file.read_bytes()))
            except FileNotFoundError:
                return []
            except ValueError:
                if attempt == TABLE_READ_TRIES - 1:
                    raise ChannelError(f"Unreadable exchange table {file}") from None
                time.sleep(0.01)
                continue
            except OSError as exc:
                raise ChannelError(f"Cannot open {file}") from exc
            return [filesystem.exchange_queue_t(*entry) for entry in table]
        return []

    def _write_table(self, exchange: str, queues: list[Any]) -> None:
        file = self._exchange_file(exchange)  # type: ignore[attr-defined]
        write_atomic(file, dumps(queues).encode(), staging=self.staging_folder)

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str | None, queue: str) -> None:
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._table_lock(exchange):
            queues = self.get_table(exchange)
            if entry not in queues:
                self._write_table(exchange, [entry, *queues])

    def _delete(self, queue: str, exchange: str, routing_key: str, pattern: str, *args: Any, **kwargs: Any) -> None:
        virtual.Channel._delete(self, queue, exchange, routing_key, pattern, *args, **kwargs)
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._table_lock(exchange):
            queues = self.get_table(exchange)
            if entry in queues:
                self._write_table(exchange, [q for q in queues if q != entry])


class Transport(filesystem.Transport):  # type: ignore[misc]
    Channel = Channel
    # kombu keeps which queues are bound in one state per process; a binding remembered for one
    # folder would skip writing it to another's tables (tests, a second broker folder).
    states: dict[str, virtual.BrokerState] = {}

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        folder = str(Path(client.transport_options.get("control_folder", "control")).resolve())
        self.state = self.states.setdefault(folder, virtual.BrokerState())
