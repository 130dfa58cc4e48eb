"""Prometheus metrics of the realtime app, and the ``/metrics`` view that exposes them.

Instrumented code makes one call per fact (``metrics.connection_opened()``),
so the hot paths carry one line each and no knowledge of Prometheus. The
numbers:

* ``realtime_connections``, ``realtime_subscriptions``: open sockets and
  active stream subscriptions (gauges);
* ``realtime_events_published_total``: events handed to the channel layer,
  once per event; ``realtime_publish_failures_total`` when it was down;
* ``realtime_events_delivered_total``: live event frames sent, once per
  subscriber;
* ``realtime_replays_total{via}`` and ``realtime_replayed_events_total{via}``:
  recoveries served from the log and the events they carried (``via`` is
  ``ws`` for an in-band replay, ``gap`` for a gap filled before a live event,
  ``sync`` for a lost event filled after the stream watcher's report,
  ``rest`` for ``/api/notifications/``);
* ``realtime_handshakes_shed_total``: WebSocket handshakes turned away
  because the process was busy admitting ``ADMISSION_LIMIT`` sockets
  (``realtime.admission``); each was told when to come back;
* ``realtime_db_queries_total``: database queries this process ran, on
  every connection (consumers, REST, admin, ...): with the REST writes on
  other processes, the consumers' database cost per event
  (``make bench``'s ``lists`` scenario reads it);
* ``realtime_push_queue_depth``: deliveries waiting in the push queue, read at
  scrape time from the callable named by ``REALTIME_PUSH_QUEUE_DEPTH`` (absent
  while none is configured).

Each process counts for itself. Behind one port per daphne process,
Prometheus scrapes every process; with processes sharing a socket, set
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's own variable) to an empty
directory and the view adds up every process's numbers.

Who may read ``/metrics``: with ``REALTIME_METRICS_TOKEN`` set, requests
carrying ``Authorization: Bearer <token>`` (anything else: 401). Without it,
everyone while ``DEBUG`` is on, and no one in production (403 saying what to
set): the numbers describe the deployment's load and users' activity.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from realtime.conf import realtime_settings

logger = logging.getLogger(__name__)

CONNECTIONS = Gauge("realtime_connections", "Open WebSocket connections.", multiprocess_mode="livesum")
SUBSCRIPTIONS = Gauge("realtime_subscriptions", "Active stream subscriptions.", multiprocess_mode="livesum")
PUBLISHED = Counter("realtime_events_published", "Events (and rechecks) published to the channel layer, once each.")
PUBLISH_FAILURES = Counter("realtime_publish_failures", "Publishes that failed (the events stay in the log).")
DELIVERED = Counter("realtime_events_delivered", "Live event frames sent to clients (once per subscriber).")
REPLAYS = Counter("realtime_replays", "Recoveries served from the log.", ["via"])
REPLAYED = Counter("realtime_replayed_events", "Events sent from the log.", ["via"])
SHED = Counter("realtime_handshakes_shed", "Handshakes turned away while the process was busy admitting sockets.")
DB_QUERIES = Counter("realtime_db_queries", "Database queries run by this process (every connection).")

# --- the calls instrumented code makes ---------------------------------------


def connection_opened() -> None:
    CONNECTIONS.inc()


def connection_closed(*, subscriptions: int) -> None:
    CONNECTIONS.dec()
    SUBSCRIPTIONS.dec(subscriptions)


def handshake_shed() -> None:
    SHED.inc()


def subscribed(*, new: bool, replayed: int) -> None:
    """A subscribe succeeded (``new``: not a resubscribe) after replaying ``replayed`` events."""
    if new:
        SUBSCRIPTIONS.inc()
    if replayed:
        replay(via="ws", events=replayed)


def unsubscribed() -> None:
    SUBSCRIPTIONS.dec()


def published() -> None:
    PUBLISHED.inc()


def publish_failed() -> None:
    PUBLISH_FAILURES.inc()


def delivered() -> None:
    DELIVERED.inc()


def replay(*, via: str, events: int) -> None:
    REPLAYS.labels(via=via).inc()
    REPLAYED.labels(via=via).inc(events)


def count_query(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    """A database ``execute_wrapper``: counts each query (or ``executemany``) once."""
    DB_QUERIES.inc()
    return execute(sql, params, many, context)


def count_queries(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: count the queries of every new database connection.

    Put first in the wrappers, so that a wrapper a caller pushes and pops
    (``connection.execute_wrapper(...)``) around this connection's first
    query is still the one popped.
    """
    if count_query not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, count_query)


# --- push queue depth, read at scrape time ------------------------------------


def push_queue_depth_function() -> Callable[[], int] | None:
    """The callable named by ``REALTIME_PUSH_QUEUE_DEPTH``, or ``None`` when unset."""
    path = realtime_settings.PUSH_QUEUE_DEPTH
    return import_string(path) if path else None


class PushQueueCollector(Collector):
    """``realtime_push_queue_depth``; nothing when unconfigured or when the count fails (logged)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            depth_of = push_queue_depth_function()
            if depth_of is None:
                return
            depth = depth_of()
        except Exception:
            logger.warning("Could not read the push queue depth for /metrics.", exc_info=True)
            return
        yield GaugeMetricFamily("realtime_push_queue_depth", "Push deliveries waiting to be sent.", value=depth)


PUSH_QUEUE = PushQueueCollector()
REGISTRY.register(PUSH_QUEUE)


if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Drop this process's live gauges from the shared directory when it exits.
    atexit.register(mark_process_dead, os.getpid())


def metrics_registry() -> CollectorRegistry:
    """This process's registry, or every process's numbers when ``PROMETHEUS_MULTIPROC_DIR`` is set."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(PUSH_QUEUE)
    return registry


def metrics_refusal(request: HttpRequest) -> HttpResponse | None:
    """The 401/403 for a request that may not read the metrics, or ``None`` when it may."""
    token = realtime_settings.METRICS_TOKEN
    if not token:
        if settings.DEBUG:
            return None
        return HttpResponse(
            "Set REALTIME_METRICS_TOKEN to serve /metrics in production (docs/settings.md).",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and secrets.compare_digest(credentials.strip().encode(), token.encode()):
        return None
    response = HttpResponse("A valid bearer token is required.", status=401, content_type="text/plain; charset=utf-8")
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET /metrics``: the Prometheus text format, for callers ``metrics_refusal()`` lets through."""
    refusal = metrics_refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)
