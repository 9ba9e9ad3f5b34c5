"""The per-connection run lock: lease expiry on an injected clock, loss detection, and on PostgreSQL the
advisory lock that guards even an expired lease row."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.worker.conftest import NOW, _empty
from tests.worker.test_sync import Clock
from tests.worker.test_worker_process import second_store
from worker.scheduling.lock import RunLock
from worker.store import Store
from worker.store import state as state_store


def test_given_held_lease_when_other_owner_tries_then_refused_until_it_expires(store: Store) -> None:
    clock = Clock(NOW)
    first = RunLock(store.engine, "run:acme", ttl=timedelta(seconds=90), clock=clock)
    second = RunLock(store.engine, "run:acme", ttl=timedelta(seconds=90), clock=clock)
    assert first.acquire(heartbeat=False)
    try:
        assert not second.acquire(heartbeat=False)
        assert second.holder() == first.owner
        if store.engine.dialect.name == "postgresql":
            return  # there the advisory lock keeps refusing however old the lease row is (next test)
        clock.advance(seconds=91)  # the first holder stalled past its lease
        assert second.acquire(heartbeat=False)
        assert not first.renew()
        assert first.lost.is_set()
        second.release()
    finally:
        first.release()


def test_given_released_lock_when_acquired_again_then_granted(store: Store) -> None:
    lock = RunLock(store.engine, "run:acme", clock=Clock(NOW))
    assert lock.acquire(heartbeat=False)
    lock.release()
    lock.release()  # twice is harmless
    again = RunLock(store.engine, "run:acme", clock=Clock(NOW))
    assert again.acquire(heartbeat=False)
    again.release()


def test_given_heartbeat_when_held_then_lease_renewed_in_background(store: Store) -> None:
    clock = Clock(NOW)
    lock = RunLock(store.engine, "run:acme", ttl=timedelta(seconds=0.15), clock=clock)
    assert lock.acquire()  # the heartbeat renews every ttl/3 = 50 ms
    try:
        clock.advance(seconds=10)  # the lease as first taken has long expired on this clock
        deadline = time.monotonic() + 3
        while lock.holder() != lock.owner:
            assert time.monotonic() < deadline, "the heartbeat did not renew the lease"
            time.sleep(0.01)
        assert not RunLock(store.engine, "run:acme", clock=clock).acquire(heartbeat=False)
        assert not lock.lost.is_set()
    finally:
        lock.release()


@pytest.mark.postgres
def test_given_postgres_advisory_lock_held_when_other_engine_tries_then_refused_even_if_lease_expired(
    postgres_store: Store,
) -> None:
    store = postgres_store  # advisory locks are PostgreSQL only, so no SQLite variant
    _empty(store)
    clock = Clock(NOW)
    other_store = second_store(store)
    first = RunLock(store.engine, "run:acme", ttl=timedelta(seconds=90), clock=clock)
    second = RunLock(other_store.engine, "run:acme", ttl=timedelta(seconds=90), clock=clock)
    try:
        assert first.acquire(heartbeat=False)
        clock.advance(hours=1)  # the lease row alone would now let the second one in
        assert not second.acquire(heartbeat=False)
        with other_store.engine.connect() as connection:
            held = connection.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")
            ).scalar()
        assert held >= 1
        first.release()
        assert second.acquire(heartbeat=False)
        second.release()
    finally:
        first.release()
        other_store.close()


class _DatabaseBlip(Exception):
    """Stands in for a dropped connection or a statement timeout on one lease query."""


def _blip(*_args: object, **_kwargs: object) -> bool:
    raise _DatabaseBlip("server closed the connection unexpectedly")


@pytest.mark.postgres
@pytest.mark.parametrize("step", ["acquire_lease", "release_lease"])
def test_given_a_database_error_on_the_lease_row_when_locking_then_the_advisory_lock_is_not_kept(
    postgres_store: Store, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    store = postgres_store
    _empty(store)
    clock = Clock(NOW)
    other_store = second_store(store)  # another process: a second worker, or `schedule run-now`
    lock = RunLock(store.engine, "run:acme", clock=clock)
    try:
        if step == "release_lease":
            assert lock.acquire(heartbeat=False)
        with monkeypatch.context() as patch:
            patch.setattr(state_store, step, _blip)
            with pytest.raises(_DatabaseBlip):
                lock.acquire(heartbeat=False) if step == "acquire_lease" else lock.release()
        clock.advance(hours=1)  # a lease row left behind expires, as a crashed holder's does
        other = RunLock(other_store.engine, "run:acme", clock=clock)
        assert other.acquire(heartbeat=False)  # refused for good while a pooled connection kept the lock
        other.release()
    finally:
        other_store.close()
