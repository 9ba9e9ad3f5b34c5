"""At most one sync per connection at a time, across threads, processes and machines.

Two layers, because APScheduler's `max_instances` only guards one process:
- a lease row in the `locks` table, taken atomically (the store's INSERT ... ON CONFLICT DO UPDATE WHERE
  the lease has expired or is ours) with a short expiry, renewed by a heartbeat thread while the run
  lasts, however long one chunk takes. A holder that dies lets it expire; works on SQLite and PostgreSQL.
- on PostgreSQL, first a session-level `pg_try_advisory_lock` on a hash of the lock name, held on a
  dedicated connection for the whole run; the database frees it the moment the holder's connection drops.
(The sync engine takes its own `sync:` lease inside the run as well, which also guards `commitments sync`
started by hand; this lock decides earlier, before a connector is even built, and records the skip.)
A lease left by a process of this machine that no longer runs (killed, crashed, or an earlier process that
had this pid, as a restarted container's pid 1) is taken over at once instead of after it expires, so the
catch-up run of a worker restarted right after a crash is not skipped as locked.
Time comes from an injected clock so tests can expire leases without waiting.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from worker.store import state as state_store

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
DEFAULT_TTL = timedelta(seconds=90)

# Owners of the leases this process holds (or is taking) right now: a lease on this host and pid whose owner
# is not among them was left by an earlier process that had the same pid.
_live_owners: set[str] = set()
_live_owners_lock = threading.Lock()


def utc_now() -> datetime:
    return datetime.now(UTC)


def lock_name(connection_name: str) -> str:
    return f"run:{connection_name}"


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for pg_try_advisory_lock (Python's hash() is salted per process)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def new_owner() -> str:
    """Who holds a lease: host, pid and a unique suffix so two threads in one process differ too."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def held_by_dead_local_process(owner: str) -> bool:
    """True when `owner` ("host:pid:suffix") names a process of this machine that no longer exists."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    if int(pid_text) == os.getpid():
        with _live_owners_lock:
            return owner not in _live_owners
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class RunLock:
    """The per-connection run lock. `acquire()` never blocks; `release()` is safe to call twice.

    While held, a heartbeat renews the lease every ttl/3; if renewal fails (the lease was taken over after
    this process stalled for longer than the ttl), `lost` is set and the run should stop at its next
    checkpoint.
    """

    def __init__(
        self,
        engine: Engine,
        name: str,
        *,
        ttl: timedelta = DEFAULT_TTL,
        clock: Clock = utc_now,
        owner: str = "",
    ) -> None:
        self.engine = engine
        self.name = name
        self.ttl = ttl
        self.clock = clock
        self.owner = owner or new_owner()
        self.lost = threading.Event()
        self._advisory: Connection | None = None
        self._stop_heartbeat = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def acquire(self, *, heartbeat: bool = True) -> bool:
        advisory = self._try_advisory()
        if advisory is False:
            return False
        with _live_owners_lock:
            _live_owners.add(self.owner)
        taken = False
        try:
            taken = self._take_or_take_over()
        finally:
            if not taken:
                # Refused, or a database error after the advisory lock was granted: its connection would go
                # back to the pool (or be collected) still holding the session lock, and every later run of
                # this connection, in any process, would be refused until this one exits. Let go of both.
                self._forget_owner()
                self._release_advisory()
        if not taken:
            return False
        if heartbeat:
            self._heartbeat = threading.Thread(
                target=self._renew_loop, name=f"lease:{self.name}", daemon=True
            )
            self._heartbeat.start()
        return True

    def _take_or_take_over(self) -> bool:
        if self._take():
            return True
        holder = self.holder()
        if holder is None or not held_by_dead_local_process(holder):
            return False
        log.warning("lease %s: taking over from %s, a process that no longer runs", self.name, holder)
        with Session(self.engine) as session, session.begin():
            state_store.release_lease(session, self.name, holder)
        return self._take()

    def _take(self) -> bool:
        with Session(self.engine) as session, session.begin():
            return state_store.acquire_lease(session, self.name, self.owner, self.clock(), self.ttl)

    def _forget_owner(self) -> None:
        with _live_owners_lock:
            _live_owners.discard(self.owner)

    def renew(self) -> bool:
        with Session(self.engine) as session, session.begin():
            renewed = state_store.renew_lease(session, self.name, self.owner, self.clock(), self.ttl)
        if not renewed:
            self.lost.set()
            log.warning("run lease %s was lost (taken over after it expired)", self.name)
        return renewed

    def release(self) -> None:
        self._stop_heartbeat.set()
        if self._heartbeat is not None and self._heartbeat is not threading.current_thread():
            self._heartbeat.join(timeout=5)
        self._heartbeat = None
        try:
            with Session(self.engine) as session, session.begin():
                state_store.release_lease(session, self.name, self.owner)
        finally:
            # Even when the lease row could not be deleted (it then expires): a pooled connection still
            # holding the advisory lock would refuse this connection's runs in every other process for good.
            self._forget_owner()
            self._release_advisory()

    def holder(self) -> str | None:
        """Who holds the lease now (for the skip message), if anyone."""
        with Session(self.engine) as session:
            row = state_store.lease_holder(session, self.name, self.clock())
            return row.owner if row is not None else None

    def _renew_loop(self) -> None:
        interval = max(self.ttl.total_seconds() / 3, 0.05)
        while not self._stop_heartbeat.wait(interval):
            try:
                if not self.renew():
                    return
            except Exception:  # a DB blip: keep trying until the lease really expires
                log.warning("could not renew run lease %s; retrying", self.name, exc_info=True)

    def _try_advisory(self) -> bool | None:
        """True/False on PostgreSQL (got it or not), None where advisory locks do not exist."""
        if self.engine.dialect.name != "postgresql":
            return None
        connection = self.engine.connect()
        try:
            got = bool(
                connection.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": advisory_key(self.name)}
                ).scalar()
            )
            connection.commit()
        except Exception:
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self._advisory = connection
        return True

    def _release_advisory(self) -> None:
        connection, self._advisory = self._advisory, None
        if connection is None:
            return
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": advisory_key(self.name)})
            connection.commit()
        except Exception:
            # a pooled connection must never go back still holding the lock: drop it instead
            connection.invalidate()
            raise
        finally:
            connection.close()
