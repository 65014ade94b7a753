"""Leader locks: held by at most one twin worker of a database at a time, and let go by
themselves when the worker that held one dies (its connection or its process ends).

``hold()`` takes the lock when it is free and, once held, checks it still is; it blocks on I/O,
so the caller runs it in a thread. ``release()`` lets it go. Each is safe to call from any
thread (one at a time, under the lock's own mutex).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
from pathlib import Path
from typing import IO, Any, Protocol

import sqlalchemy.exc
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)


class LeaderLock(Protocol):
    def hold(self) -> bool:
        """Take the lock if free, or check it is still ours; whether this worker holds it."""
        ...

    def release(self) -> None:
        """Let the lock go (nothing when not held)."""
        ...


class PgAdvisoryLock:
    """A PostgreSQL session-level advisory lock (``pg_try_advisory_lock``) on ``key``, held on
    a connection of its own (never pooled: a lock left on a pooled connection would outlive
    ``release``). The server lets it go when that connection ends, so a worker that dies (or
    loses the database) stops being leader and another can take over."""

    def __init__(self, url: str, connect_args: dict[str, Any], key: str) -> None:
        self.key = key
        self._engine = create_engine(
            url,
            connect_args={**connect_args, "connect_timeout": 5},
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
        )
        self._conn: Connection | None = None
        self._mutex = threading.Lock()
        self._released = False

    def hold(self) -> bool:
        with self._mutex:
            if self._released:  # a hold() still running in a thread when release() came
                return False
            try:
                if self._conn is not None:
                    self._conn.execute(text("SELECT 1"))  # the session (and its lock) lives
                    return True
                conn = self._engine.connect()
                try:
                    got = conn.execute(
                        text("SELECT pg_try_advisory_lock(hashtext(:key))"), {"key": self.key}
                    ).scalar()
                except BaseException:
                    with contextlib.suppress(sqlalchemy.exc.DBAPIError):
                        conn.close()  # not left open for the garbage collector
                    raise
                if got:
                    self._conn = conn
                    return True
                conn.close()
                return False
            except sqlalchemy.exc.DBAPIError as exc:
                log.warning("leader lock %s: %s", self.key, " ".join(str(exc.orig).split()))
                self._drop()
                return False

    def release(self) -> None:
        with self._mutex:
            self._released = True
            self._drop()
            self._engine.dispose()

    def _drop(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(sqlalchemy.exc.DBAPIError):
                conn.close()  # the session ends: the server releases the lock


class FileLock:
    """An exclusive ``flock`` on ``path`` (beside a SQLite file): one worker process of that
    file leads; the kernel lets it go when the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None
        self._mutex = threading.Lock()
        self._released = False

    def hold(self) -> bool:
        with self._mutex:
            if self._released:
                return False
            if self._file is not None:
                return True
            file = open(self.path, "a")  # noqa: SIM115 (held open for as long as we lead)
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                file.close()
                return False
            self._file = file
            return True

    def release(self) -> None:
        with self._mutex:
            self._released = True
            if self._file is not None:
                fcntl.flock(self._file, fcntl.LOCK_UN)
                self._file.close()
                self._file = None


class ProcessLock:
    """An in-memory database has one worker: it always leads."""

    def hold(self) -> bool:
        return True

    def release(self) -> None:
        pass
