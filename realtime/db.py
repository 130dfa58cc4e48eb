"""Where the consumers' database work runs: a bounded pool of threads, or asgiref's one database thread.

``channels.db.database_sync_to_async`` runs every call of every socket of a
process on one shared thread, so a process can serve only as many
subscribes per second as one thread can do one after the other (and a slow
query holds up every socket behind it). With a connection pool configured
(Django 5's ``DATABASES["default"]["OPTIONS"]["pool"]`` for PostgreSQL,
which ``DB_POOL_SIZE`` sets in the demo) the realtime app runs that work on
a pool of as many threads as the pool has connections (or
``REALTIME["DB_THREADS"]`` if set): each call borrows a connection and
returns it when done. Without a pool (SQLite, or no pooling) it keeps the
single thread. Everything run here is a self-contained read (or a
self-contained transaction), so calls need no thread affinity.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from channels.db import DatabaseSyncToAsync, database_sync_to_async
from django.conf import settings

from realtime.conf import realtime_settings

T = TypeVar("T")

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_executor_size = 0


def db_threads() -> int:
    """How many threads may run the realtime app's database work at once (0 or 1: asgiref's single thread)."""
    if realtime_settings.DB_THREADS:
        return realtime_settings.DB_THREADS
    options = settings.DATABASES.get("default", {}).get("OPTIONS", {})
    pool = options.get("pool") if isinstance(options, dict) else None
    if isinstance(pool, dict):
        return int(pool.get("max_size") or 0)
    return 0


def _pool() -> ThreadPoolExecutor | None:
    global _executor, _executor_size
    size = db_threads()
    if size <= 1:
        return None
    with _lock:
        if _executor is None or _executor_size != size:
            _executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="realtime-db")
            _executor_size = size
        return _executor


async def run_db(function: Callable[..., T], /, **kwargs: Any) -> T:
    """Run ``function(**kwargs)`` with database access, off the event loop."""
    executor = _pool()
    if executor is None:
        return await database_sync_to_async(function)(**kwargs)
    return await DatabaseSyncToAsync(function, thread_sensitive=False, executor=executor)(**kwargs)


def shutdown_pool() -> None:
    """Close every pool thread's database connections and stop the threads (tests; a process that stops)."""
    global _executor, _executor_size
    with _lock:
        executor, size = _executor, _executor_size
        _executor, _executor_size = None, 0
    if executor is None:
        return
    from django.db import connections

    # One task per thread, held at a barrier until all threads have one: each closes its own connections.
    barrier = threading.Barrier(size)

    def close() -> None:
        barrier.wait(timeout=10)
        connections.close_all()

    for future in [executor.submit(close) for _ in range(size)]:
        future.result()
    executor.shutdown(wait=True)
