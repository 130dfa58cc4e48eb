"""Realtime: keep DRF-served objects live over one WebSocket, and never lose an event.

Installed as ``django-realtime-subscriptions`` (docs/integration.md); a
project adds ``"realtime"`` to ``INSTALLED_APPS``, mounts ``realtime.urls``,
wraps its ASGI application with ``realtime.asgi.websocket_application()``
and declares its live models in ``live.py``. The package, by concern:

Making models live
    live           ``from realtime import live``: ``live.register`` and ``live.LiveModel``, used in an app's live.py
    registry       live model declarations, derived from the viewset; visibility by its REST detail view
    tracking       model signals turned into logged, published events (one per stream per transaction)
    writes         the bulk write paths (``update``, ``bulk_create``, ``bulk_update``) logged too
    events         named events ``<app>:<context>:<action>``, their action types, what a notice tells
    sending        sending an app's own events to objects' streams and users' inboxes (``events.send``)
    requests       DRF requests built for a socket (visibility checks) and for ``BASE_URL`` (payloads)
    viewsets       ``LiveViewSetMixin``: REST reads carry the stream position, writes lock the row
    fields         serializer fields: hashids, and the object's stream position

The log and delivery
    models         stored state: streams, the notification log, WebSocket tickets
    log            append in the caller's transaction; read back for recovery
    pending        events appended in the current transaction, waiting for its commit
    publish        publishing appended events to the channel layer after commit
    frames         a logged notification as the Redux action clients receive
    streams        stream names and their channel-layer groups
    access         who may read a stream: subscribe, replay (WebSocket and REST) and revocation
    inbox          a user's user-facing notifications and their read state
    signals        signals modules hook into without importing each other
    watcher        the safety net for live messages the channel layer loses

The WebSocket
    asgi           ``websocket_application()``: the endpoint behind origin check and auth, for a project's asgi.py;
                   freezes the start-up objects out of full garbage collections
    routing        the WebSocket routes, and the refusal of every other path
    admission      the handshake's admission gate: a busy process queues briefly, then sheds with a time to come back
    origins        the handshake's ``Origin`` check (scheme, host and port)
    auth           handshake authentication: session cookie, the REST API's header authentication, tickets
    tickets        one-time, short-lived WebSocket tickets
    consumers      ``SubscriptionConsumer``: frames in, calls out, replies back
    subscriptions  what a socket's subscriptions need from the database, one synchronous call per step
    opening        opening a subscribe after the join: check, read, check again (or both in one snapshot)
    reads          log reads shared by the sockets of a process that subscribe at the same time
    snapshots      one database snapshot for a subscribe's check and its read (PostgreSQL)
    logcache       committed log rows kept in memory, so a storm of replays reads each row once
    session        one socket's subscriptions: where each stands, and what a live event means for it
    lists          live lists: a list endpoint kept live for its user, decided by the list view's own code
    db             where the consumers' database work runs: a bounded thread pool, or asgiref's one thread
    shutdown       saying goodbye when the server stops: a reconnect hint, then close 4503
    protocol       the wire protocol's names and codes, defined once
    decoding       client frames from text to a message, refusing what cannot be handled safely
    serializers    validation of client messages and of REST log queries
    exceptions     client-facing protocol errors and their error frames
    layers         receiving from the channel layer without letting its errors end the socket
    transport      backpressure: a client that does not read cannot make the server buffer without bound
    quotas         per-user limits of one process: sockets held, messages per second
    ratelimit      the token bucket behind every rate limit

REST
    urls           the REST routes: notification log, inbox read state, tickets, the AsyncAPI document
    views          the REST endpoints behind them
    routers        a DRF router whose detail routes take hashids, with or without a trailing slash
    converters     the ``hashid`` URL path converter
    parsers        request parsers that turn unstorable input into a 400
    middleware     ``NoStoreMiddleware``: authenticated responses are never cached
    schema         OpenAPI annotations: drf-spectacular's when installed, no-ops otherwise
    asyncapi       the AsyncAPI 3.0 document of the WebSocket, from the protocol and the live models (``schema``)

Configuration and operations
    apps           the app config: settings validated, checks registered, live.py autodiscovered
    conf           ``settings.REALTIME`` with its defaults (docs/settings.md)
    checks         system checks: each required setting, named with its fix
    ids            public ids: hashids of integer primary keys
    health         ``/healthz``: the database and the channel layer by a real round trip
    metrics        Prometheus metrics and the ``/metrics`` view
    admin          read-only admin of streams and the log
    management.commands.asyncapi             print the AsyncAPI document
    management.commands.listen               a debugging WebSocket client
    management.commands.prune_notifications  the log's retention policy
    management.commands.reset_stream         forget a stream's history, with a new epoch

Following another service (``realtime.mirror``, a nested app for followers; extra ``[mirror]``; docs/mirror.md)
    mirror.apps        app config of the follower's tables
    mirror.models      the stored position (stream, epoch, seq) of each followed stream
    mirror.position    applying events exactly once, in the transaction that moves the position; full resyncs
    mirror.handlers    what applying means: ``MirrorHandler``, and ``ModelMirrorHandler`` for a local model
    mirror.follower    ``Follower``: WebSocket with since/epoch, REST log paging, resync, reconnect with backoff
    mirror.management.commands  ``follow``

Push delivery (``realtime.push``, a nested app; extra ``[push]``; docs/push.md)
    push.apps          app config: the outbox hooked into the log, provider settings checked
    push.models        devices and the outbox of deliveries
    push.devices       registering push targets
    push.outbox        a pushed notification becomes one delivery per device, in its transaction
    push.queue         claim due deliveries under a lease, record outcomes, requeue dead letters
    push.retry         backoff with jitter, never before Retry-After
    push.worker        the worker loop: claim, send concurrently, record
    push.messages      what is pushed: the event frame, shrunk to a provider's limit
    push.backends      one per device kind: ``base`` (the send template), ``webpush``, ``fcm``, ``apns``, ``webhook``
    push.credentials   provider credentials as text or as a file path
    push.vapid         VAPID keys for Web Push
    push.signing       HMAC signatures of webhook deliveries
    push.targets       checking a user's push URL before it is stored
    push.addresses     which addresses a user-chosen target may reach
    push.transport     the httpx transport that connects only to checked addresses
    push.serializers   device registration over REST
    push.views         the device endpoints and the VAPID public key
    push.urls          their routes
    push.admin         admin of devices, deliveries and dead letters
    push.management.commands  ``pushworker``, ``push_requeue``, ``push_vapid_keys``
"""
