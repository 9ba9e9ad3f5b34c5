"""The state store: connections, runs, watermarks, retries, task keys, assessments, schedules, leases.

`Store` (worker.store.db) opens the database and applies migrations; the repository functions live in
`runs` (connections and runs), `state` (watermarks, retries, task keys, leases) and `deals` (latest
assessments and commitment history), each taking a SQLAlchemy `Session` from `Store.session()`.
"""

from worker.store.db import Store

__all__ = ["Store"]
