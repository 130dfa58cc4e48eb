/**
 * `RealtimeClient`: one WebSocket to `/ws/notifications/`, many subscriptions, no lost events.
 *
 * Framework-agnostic (no React, no Redux): `rtkQuery.ts` next to it keeps RTK
 * Query cache entries live with it, and any other app can listen too. What it
 * guarantees:
 *
 * - every object subscription remembers the `seq`/`epoch` of the last event
 *   it applied; after a reconnect it resubscribes with `since`/`epoch` (all
 *   subscriptions in one batch `subscribe`, chunked to the server's limits) and
 *   the server replays what was missed (events first, several to an `events`
 *   frame, then `subscribed`);
 * - an object event is handed to listeners exactly once and in order:
 *   `seq <= last` is a duplicate and dropped, `seq > last + 1` is a gap and
 *   triggers a resubscribe from `last`;
 * - when the server cannot replay (`recovered: false`), the subscription's
 *   `reload` (a REST fetch of the object) gives the new position, live events
 *   that arrived meanwhile are held and applied past it;
 * - a live list (`subscribeList`) remembers the seq it has of each member and
 *   resubscribes with it (`have`): the server sends what entered, changed and
 *   left meanwhile; a frame at or below the seq held of its object is dropped;
 * - reconnects: the first retry comes after a short random delay, later ones
 *   back off exponentially with full jitter (0.5 s to 20 s), reset once a
 *   connection has stayed up for `stableAfterMs`; a server that announces a
 *   restart (`reconnect` frame) is given the time it asks for, spread at
 *   random; the close codes of docs/protocol.md are honoured (4401/4403 stop,
 *   4429 and 4413 wait long, 4500 skips the quick retry); a handshake that
 *   hangs is given up after `connectTimeoutMs` and retried the same way;
 * - subscribe requests made while offline are queued and sent on connect.
 */

import { Backoff, type BackoffOptions } from "./backoff";
import * as protocol from "./protocol";
import type {
  ClientMessage,
  EntryError,
  ErrorFrame,
  EventFrame,
  ListParams,
  ListSubscribed,
  ReconnectFrame,
  RequestId,
  ServerFrame,
  StreamSubscribed,
  SubscribeEntry,
  SubscribeResult,
  UnsubscribedFrame,
} from "./protocol";

/**
 * `connecting`: first connection under way; `replaying`: connected, some
 * subscription is still catching up; `live`: connected and caught up;
 * `reconnecting`: connection lost, waiting to retry; `closed`: stopped (by
 * `close()`, or refused by the server: see `closeCode`).
 */
export type ConnectionStatus = "idle" | "connecting" | "replaying" | "live" | "reconnecting" | "closed";

/**
 * What to subscribe to: an object (`{objectType: "foo", id}`), the inbox
 * (`{objectType: "inbox"}`), or a live list (`{objectType: "foo", list: {search: "x"}}`).
 */
export interface Target {
  objectType: string;
  id?: string;
  list?: ListParams;
}

/** A stream position: the last applied `seq` and the `epoch` it belongs to. */
export interface Position {
  seq: number;
  epoch: string | null;
}

/**
 * Reload a target over REST after the server said it cannot replay. Resolve
 * with the position of the loaded state (`stream.seq`/`stream.epoch`), or
 * `null` when the object is gone or no longer visible.
 */
export type Reload = (target: Target) => Promise<Position | null>;

export type EndReason = typeof protocol.REASON_DELETED | typeof protocol.REASON_REVOKED | string;

export interface SubscribedInfo {
  key: string;
  target: Target;
  stream: string;
  position: Position;
  /** Events replayed in-band for this subscribe. */
  replayed: number;
  /** True when the state came from a REST reload instead of a replay. */
  reloaded: boolean;
  /** Why the server could not replay (`epoch`, `pruned`, `ahead`, `limit`, `visibility`), when it said. */
  reason?: string;
}

export interface EndedInfo {
  key: string;
  target: Target;
  stream: string | null;
  reason: EndReason;
}

export interface CaughtUpInfo {
  /** True after a reconnect, false after the first connect. */
  reconnect: boolean;
  streams: number;
  replayed: number;
  reloaded: number;
  /** From the socket opening to the last subscription being caught up. */
  ms: number;
}

/** Callbacks; every one is optional. */
export interface RealtimeListener {
  /** An event, in order, exactly once per stream position (for a list: per object's seq). */
  onEvent?(frame: EventFrame, key: string): void;
  onStatus?(status: ConnectionStatus): void;
  onSubscribed?(info: SubscribedInfo): void;
  /**
   * A subscription ended without being asked to: deleted, revoked, or an error
   * code such as `not_found`. `stream` is its stream's name, once the server named it.
   */
  onEnded?(info: EndedInfo): void;
  /** Every subscription that was active when the socket opened is caught up. */
  onCaughtUp?(info: CaughtUpInfo): void;
  onDuplicate?(frame: EventFrame): void;
  onGap?(info: { key: string; expected: number; received: number }): void;
  onError?(frame: ErrorFrame): void;
  /** The socket closed; `delayMs` is how long until the next try (null: it will not retry). */
  onClosed?(info: { code: number; delayMs: number | null; restart: boolean }): void;
}

/** Per-subscription callbacks (`subscribe(target, position, {onEvent, ...})`). */
export interface SubscriptionHandlers {
  /** How this target is reloaded when the server cannot replay (default: the client's `reload`). */
  reload?: Reload;
  onEvent?(frame: EventFrame): void;
  onSubscribed?(info: SubscribedInfo): void;
  onEnded?(info: EndedInfo): void;
}

/** The part of the browser `WebSocket` the client uses (tests pass a mock). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason?: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export interface RealtimeClientOptions {
  /** Socket URL; default: `ws(s)://<page host>/ws/notifications/` from the page's scheme. */
  url?: string | (() => string);
  /** The default reload (subscriptions may bring their own). */
  reload?: Reload;
  /** Open a socket (default: the browser's `WebSocket`), asking for `protocols`. */
  createSocket?: (url: string, protocols: string[]) => SocketLike;
  backoff?: BackoffOptions;
  /** A connection up this long resets the backoff (default 5 s). */
  stableAfterMs?: number;
  /** A handshake not done after this long is abandoned and retried with backoff (default 10 s; 0: off). */
  connectTimeoutMs?: number;
  /** Send a ping this often; no frame before the next one means the socket is dead (default 25 s; 0: off). */
  pingIntervalMs?: number;
  /** Retry a subscribe that failed with a transient error (`rate_limited`, `server_error`) after this long. */
  retryAfterMs?: number;
  /** Most subscriptions in one batch `subscribe` (default 100, the server's `REALTIME_MAX_SUBSCRIPTIONS`). */
  batchSize?: number;
  /** Largest frame the client sends (default 16,000 bytes, under the server's `REALTIME_MAX_FRAME_BYTES`). */
  maxFrameBytes?: number;
  /**
   * After a server announced its restart (`reconnect` frame), retries back off to at most this (default 5 s)
   * until a connection opens: it said it is coming back, so a long wait would only be spent offline.
   */
  restartMaxMs?: number;
  now?: () => number;
}

type Phase = "queued" | "subscribing" | "reloading" | "live";

interface Subscription {
  key: string;
  target: Target;
  /** The stream's name, from the server's first `subscribed` answer. */
  stream: string | null;
  seq: number | null;
  epoch: string | null;
  /** A live list: the position held of each member, by id. */
  have: Map<string, Position> | null;
  phase: Phase;
  requestId: RequestId | null;
  /** Bumped on every subscribe request, so late answers to older ones are recognised. */
  generation: number;
  /** Live events held while there is no position to apply them against. */
  held: EventFrame[];
  handlers: Set<SubscriptionHandlers>;
}

interface Round {
  startedAt: number;
  reconnect: boolean;
  pending: Set<string>;
  streams: number;
  replayed: number;
  reloaded: number;
}

const OPEN = 1;
const TRANSIENT_ERRORS = new Set<string>([protocol.RATE_LIMITED, protocol.SERVER_ERROR]);
const REFUSED_CLOSE_CODES = new Set<number>([protocol.CLOSE_NOT_AUTHENTICATED, protocol.CLOSE_FORBIDDEN]);
/** Close codes after which retrying at once would not help: wait about the longest backoff. */
const WAIT_LONG_CLOSE_CODES = new Set<number>([protocol.CLOSE_TOO_MANY_SOCKETS, protocol.CLOSE_MESSAGE_TOO_BIG]);

/** The key a client uses for a target: the stream name for objects, `inbox` for the inbox, the list's name for lists. */
export function targetKey(target: Target): string {
  if (target.list) return protocol.listName(target.objectType, target.list);
  if (target.objectType === protocol.INBOX) return protocol.INBOX;
  if (!target.id) throw new Error(`Subscribing to a ${target.objectType} needs an id (or a list).`);
  return `${target.objectType}.${target.id}`;
}

function keyOfMeta(meta: EventFrame["meta"]): string {
  return meta.object_type === protocol.INBOX ? protocol.INBOX : `${meta.object_type}.${meta.id}`;
}

function keyOfStream(stream: string): string {
  return stream.startsWith(`${protocol.INBOX_STREAM_PREFIX}.`) ? protocol.INBOX : stream;
}

function isError(result: SubscribeResult): result is EntryError {
  return typeof (result as EntryError).error === "object" && (result as EntryError).error !== null;
}

function isListResult(result: SubscribeResult): result is ListSubscribed {
  return (result as ListSubscribed).list === true;
}

export function defaultSocketUrl(): string {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${window.location.host}${protocol.SOCKET_PATH}`;
}

export class RealtimeClient {
  private readonly options: Required<Omit<RealtimeClientOptions, "url" | "reload" | "backoff">>;
  private readonly url: string | (() => string);
  private reloadTarget: Reload | null;
  private readonly backoff: Backoff;
  private readonly listeners = new Set<RealtimeListener>();
  private readonly subscriptions = new Map<string, Subscription>();
  /** Server names of lists whose key differs from the name (should the server spell a name otherwise). */
  private readonly listNames = new Map<string, string>();
  /** Keys each outstanding request was for: one key, or the keys of a batch in its order. */
  private readonly requests = new Map<RequestId, string[]>();
  private socket: SocketLike | null = null;
  private started = false;
  private everOpened = false;
  private requestCounter = 0;
  private statusValue: ConnectionStatus = "idle";
  private round: Round | null = null;
  private awaitingPong = false;
  /** The server refused a batch `subscribe` (an older server): subscribe one by one. */
  private batchUnsupported = false;
  private restartHint: { afterMs: number; spreadMs: number } | null = null;
  /** The server announced a restart and no connection has opened since: retries stay under `restartMaxMs`. */
  private restarting = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  private stableTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  /** The close code of the last connection (4401: not authenticated, 4403: forbidden). */
  closeCode: number | null = null;

  constructor(options: RealtimeClientOptions = {}) {
    this.url = options.url ?? defaultSocketUrl;
    this.reloadTarget = options.reload ?? null;
    this.backoff = new Backoff(options.backoff);
    this.options = {
      createSocket:
        options.createSocket ??
        ((url: string, protocols: string[]) => new WebSocket(url, protocols) as unknown as SocketLike),
      stableAfterMs: options.stableAfterMs ?? 5_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      pingIntervalMs: options.pingIntervalMs ?? 25_000,
      retryAfterMs: options.retryAfterMs ?? 2_000,
      batchSize: options.batchSize ?? 100,
      maxFrameBytes: options.maxFrameBytes ?? 16_000,
      restartMaxMs: options.restartMaxMs ?? 5_000,
      now: options.now ?? (() => Date.now()),
    };
  }

  // --- public API -------------------------------------------------------------

  get status(): ConnectionStatus {
    return this.statusValue;
  }

  /** Register callbacks; returns a function that removes them. */
  addListener(listener: RealtimeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Set how targets are reloaded over REST when the server cannot replay (subscriptions may bring their own). */
  setReload(reload: Reload): void {
    this.reloadTarget = reload;
  }

  /** Open the socket (and keep it open, reconnecting, until `close()`). */
  connect(): void {
    if (this.started) return;
    this.started = true;
    this.closeCode = null;
    this.backoff.reset();
    this.setStatus("connecting");
    this.open();
  }

  /** Close the socket and stop reconnecting. Subscriptions are kept, and resumed by the next `connect()`. */
  close(): void {
    this.started = false;
    this.clearTimers();
    const socket = this.socket;
    this.detach();
    socket?.close(1000, "client closed");
    this.setStatus("closed");
  }

  /**
   * Subscribe to an object or the inbox, continuing from `position` (the
   * `stream` of the REST response it was loaded from). Without a position the
   * server cannot replay and the target is reloaded. Queued while offline.
   *
   * Subscribing to a target already subscribed adds `handlers` to it (a
   * newer `position` moves it on). Returns a release function: the
   * subscription ends when every caller has released it.
   */
  subscribe(target: Target, position?: Position | null, handlers: SubscriptionHandlers = {}): () => void {
    if (target.list) return this.subscribeList(target, {}, handlers);
    if (!handlers.reload && !this.reloadTarget) {
      throw new Error(
        "RealtimeClient needs a `reload` option (or setReload(), or a `reload` handler) to subscribe: it " +
          "reloads an object over REST when the server cannot replay what was missed.",
      );
    }
    const key = targetKey(target);
    const existing = this.subscriptions.get(key);
    if (existing) {
      existing.handlers.add(handlers);
      if (position && existing.phase === "live" && this.isAhead(position, existing)) {
        existing.seq = position.seq;
        existing.epoch = position.epoch;
      }
      return this.releaser(existing, handlers);
    }
    const subscription = this.newSubscription(key, target, handlers);
    subscription.seq = position?.seq ?? null;
    subscription.epoch = position?.epoch ?? null;
    this.subscriptions.set(key, subscription);
    this.sendSubscribe(subscription);
    return this.releaser(subscription, handlers);
  }

  /**
   * Keep a list live: `target.list` holds the list endpoint's query
   * parameters, `have` the objects loaded from it (REST list items'
   * `id` → `stream`). The server sends what entered, changed or left since,
   * then every change of a member or would-be member, with `meta.membership`.
   */
  subscribeList(target: Target, have: Record<string, Position>, handlers: SubscriptionHandlers = {}): () => void {
    if (!target.list) throw new Error("subscribeList() needs a target with `list` (the list endpoint's parameters).");
    const key = targetKey(target);
    const existing = this.subscriptions.get(key);
    if (existing) {
      existing.handlers.add(handlers);
      for (const [id, position] of Object.entries(have)) {
        const held = existing.have!.get(id);
        if (!held || this.isAhead(position, held)) existing.have!.set(id, position);
      }
      return this.releaser(existing, handlers);
    }
    const subscription = this.newSubscription(key, { ...target, list: { ...target.list } }, handlers);
    subscription.have = new Map(Object.entries(have));
    this.subscriptions.set(key, subscription);
    this.sendSubscribe(subscription);
    return this.releaser(subscription, handlers);
  }

  /** Stop receiving `target`'s events, whoever subscribed (not an error if it is not subscribed). */
  unsubscribe(target: Target): void {
    const key = targetKey(target);
    const subscription = this.subscriptions.get(key);
    if (!subscription) return;
    this.subscriptions.delete(key);
    this.forgetListName(subscription);
    this.round?.pending.delete(key);
    const request: ClientMessage = {
      action: protocol.UNSUBSCRIBE,
      request_id: this.nextRequestId(),
      object_type: target.objectType,
    };
    if (target.list) request.list = target.list;
    else if (target.objectType !== protocol.INBOX) request.id = target.id;
    this.send(request);
    this.updateStatus();
    this.finishRoundIfDone();
  }

  /** Forget every subscription (on logout); the socket stays as it is. */
  clear(): void {
    for (const subscription of [...this.subscriptions.values()]) this.unsubscribe(subscription.target);
  }

  /** The position of `target`'s subscription (the last event applied), if any. */
  position(target: Target): Position | null {
    const subscription = this.subscriptions.get(targetKey(target));
    if (!subscription || subscription.seq === null) return null;
    return { seq: subscription.seq, epoch: subscription.epoch };
  }

  /** A live list's members as the client holds them (id → position), if subscribed. */
  members(target: Target): Record<string, Position> | null {
    const subscription = this.subscriptions.get(targetKey(target));
    return subscription?.have ? Object.fromEntries(subscription.have) : null;
  }

  /** Keys of the active subscriptions. */
  subscribed(): string[] {
    return [...this.subscriptions.keys()];
  }

  // --- connection -------------------------------------------------------------

  private open(): void {
    const url = typeof this.url === "function" ? this.url() : this.url;
    // The subprotocol asks for `events` frames (replays several events to a frame); a server without it
    // accepts the socket all the same and sends one event per frame.
    const socket = this.options.createSocket(url, [protocol.SUBPROTOCOL_EVENTS]);
    this.socket = socket;
    socket.onopen = () => this.handleOpen();
    socket.onmessage = (event) => this.handleMessage(event.data);
    socket.onclose = (event) => this.handleClose(event.code);
    socket.onerror = () => {
      // A close event always follows; reconnecting is decided there.
    };
    if (this.options.connectTimeoutMs > 0) {
      this.connectTimer = setTimeout(() => {
        this.connectTimer = null;
        // Still connecting (opening or closing clears this timer): the handshake hangs, say a host
        // gone silent or a proxy holding the request. Give up and retry.
        this.detach();
        socket.close(4000, "connect timeout");
        this.handleClose(1006);
      }, this.options.connectTimeoutMs);
    }
  }

  private handleOpen(): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    const reconnect = this.everOpened;
    this.everOpened = true;
    this.restartHint = null;
    this.restarting = false;
    this.stableTimer = setTimeout(() => this.backoff.reset(), this.options.stableAfterMs);
    if (this.options.pingIntervalMs > 0) {
      this.pingTimer = setInterval(() => this.heartbeat(), this.options.pingIntervalMs);
    }
    this.round = {
      startedAt: this.options.now(),
      reconnect,
      pending: new Set(this.subscriptions.keys()),
      streams: this.subscriptions.size,
      replayed: 0,
      reloaded: 0,
    };
    // The offline queue: every active subscription, from its last applied position, in as few messages as fit.
    this.sendBatch([...this.subscriptions.values()]);
    this.updateStatus();
    this.finishRoundIfDone();
  }

  private handleClose(code: number): void {
    this.closeCode = code;
    this.detach();
    this.clearTimers();
    this.round = null;
    this.requests.clear();
    for (const subscription of this.subscriptions.values()) {
      subscription.phase = "queued";
      subscription.requestId = null;
      subscription.held = [];
    }
    const hint = this.restartHint;
    this.restartHint = null;
    if (!this.started) return;
    if (REFUSED_CLOSE_CODES.has(code)) {
      this.started = false;
      this.emit((l) => l.onClosed?.({ code, delayMs: null, restart: false }));
      this.setStatus("closed");
      return;
    }
    const delay = this.reconnectDelay(code, hint);
    this.emit((l) => l.onClosed?.({ code, delayMs: delay, restart: hint !== null }));
    this.setStatus("reconnecting");
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.started) this.open();
    }, delay);
  }

  /** How long to wait before reconnecting after a close with `code` (docs/protocol.md, "Close codes"). */
  private reconnectDelay(code: number, hint: { afterMs: number; spreadMs: number } | null): number {
    if (hint) {
      // The server restarts on purpose and said when to come back: spread over its window, then back off
      // (to at most restartMaxMs) if it is not back yet; the quick first retry is used up.
      this.backoff.skipFirst();
      this.restarting = true;
      return hint.afterMs + this.backoff.random() * hint.spreadMs;
    }
    if (WAIT_LONG_CLOSE_CODES.has(code)) {
      if (code === protocol.CLOSE_MESSAGE_TOO_BIG) {
        console.error(
          "realtime: the server closed the socket (4413) for a frame over its REALTIME_MAX_FRAME_BYTES; " +
            "lower the client's maxFrameBytes (or raise the server's limit).",
        );
      }
      this.backoff.skipFirst();
      this.backoff.next();
      return this.backoff.maxMs * (0.5 + this.backoff.random() / 2);
    }
    if (code === protocol.CLOSE_SERVER_ERROR) this.backoff.skipFirst();
    return this.backoff.next(this.restarting ? this.options.restartMaxMs : undefined);
  }

  private heartbeat(): void {
    if (this.awaitingPong) {
      // Nothing at all since the last ping: the connection is dead even if the browser has not noticed.
      const socket = this.socket;
      this.detach();
      socket?.close(4000, "heartbeat timeout");
      this.handleClose(1006);
      return;
    }
    this.awaitingPong = true;
    this.send({ action: protocol.PING, request_id: this.nextRequestId() });
  }

  private detach(): void {
    if (!this.socket) return;
    this.socket.onopen = this.socket.onmessage = this.socket.onclose = this.socket.onerror = null;
    this.socket = null;
  }

  private clearTimers(): void {
    for (const timer of [this.reconnectTimer, this.stableTimer, this.connectTimer]) {
      if (timer !== null) clearTimeout(timer);
    }
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.reconnectTimer = this.stableTimer = this.connectTimer = this.pingTimer = null;
    this.awaitingPong = false;
  }

  private send(message: ClientMessage): boolean {
    if (!this.isOpen()) return false;
    this.socket!.send(JSON.stringify(message));
    return true;
  }

  private isOpen(): boolean {
    return this.socket !== null && this.socket.readyState === OPEN;
  }

  private nextRequestId(): string {
    this.requestCounter += 1;
    return `r${this.requestCounter}`;
  }

  // --- subscriptions ------------------------------------------------------------

  private newSubscription(key: string, target: Target, handlers: SubscriptionHandlers): Subscription {
    return {
      key,
      target: { ...target },
      stream: null,
      seq: null,
      epoch: null,
      have: null,
      phase: "queued",
      requestId: null,
      generation: 0,
      held: [],
      handlers: new Set([handlers]),
    };
  }

  private releaser(subscription: Subscription, handlers: SubscriptionHandlers): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      subscription.handlers.delete(handlers);
      if (subscription.handlers.size === 0 && this.subscriptions.get(subscription.key) === subscription) {
        this.unsubscribe(subscription.target);
      }
    };
  }

  private isAhead(position: Position, than: { seq: number | null; epoch: string | null }): boolean {
    return than.seq === null || position.epoch !== than.epoch || position.seq > than.seq;
  }

  /** What one subscription asks the server for, from where it stands. */
  private entryOf(subscription: Subscription): SubscribeEntry {
    const { target } = subscription;
    const entry: SubscribeEntry = { object_type: target.objectType };
    if (target.list) {
      entry.list = target.list;
      entry.have = Object.fromEntries([...subscription.have!].map(([id, position]) => [id, position.seq]));
      return entry;
    }
    if (target.objectType !== protocol.INBOX) entry.id = target.id;
    if (subscription.seq !== null) {
      entry.since = subscription.seq;
      if (subscription.epoch !== null) entry.epoch = subscription.epoch;
    }
    return entry;
  }

  private sendSubscribe(subscription: Subscription): void {
    this.sendBatch([subscription]);
  }

  /**
   * Subscribe `subscriptions` in as few messages as fit: chunks of at most
   * `batchSize` entries and `maxFrameBytes`; a chunk of one is a plain subscribe.
   */
  private sendBatch(subscriptions: Subscription[]): void {
    for (const subscription of subscriptions) subscription.generation += 1;
    if (!this.isOpen()) {
      for (const subscription of subscriptions) {
        subscription.phase = "queued";
        subscription.requestId = null;
      }
      return;
    }
    const limit = this.batchUnsupported ? 1 : Math.max(1, this.options.batchSize);
    let chunk: { subscription: Subscription; entry: SubscribeEntry; bytes: number }[] = [];
    let bytes = 0;
    const flush = () => {
      if (chunk.length > 0) this.sendChunk(chunk.map(({ subscription, entry }) => ({ subscription, entry })));
      chunk = [];
      bytes = 0;
    };
    for (const subscription of subscriptions) {
      const entry = this.entryOf(subscription);
      const size = JSON.stringify(entry).length + 1;
      if (chunk.length >= limit || (chunk.length > 0 && bytes + size + 80 > this.options.maxFrameBytes)) flush();
      chunk.push({ subscription, entry, bytes: size });
      bytes += size;
    }
    flush();
    this.updateStatus();
  }

  private sendChunk(chunk: { subscription: Subscription; entry: SubscribeEntry }[]): void {
    const requestId = this.nextRequestId();
    for (const { subscription } of chunk) {
      subscription.phase = "subscribing";
      subscription.requestId = requestId;
    }
    this.requests.set(
      requestId,
      chunk.map(({ subscription }) => subscription.key),
    );
    if (chunk.length === 1) {
      this.send({ action: protocol.SUBSCRIBE, request_id: requestId, ...chunk[0].entry });
    } else {
      this.send({ action: protocol.SUBSCRIBE, request_id: requestId, streams: chunk.map(({ entry }) => entry) });
    }
  }

  private handleMessage(data: unknown): void {
    this.awaitingPong = false;
    if (typeof data !== "string") return;
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data) as ServerFrame;
    } catch {
      return;
    }
    if (typeof frame !== "object" || frame === null) return;
    if (protocol.isEventFrame(frame)) {
      this.handleEvent(frame);
      return;
    }
    switch (frame.type) {
      case protocol.EVENTS:
        for (const event of Array.isArray(frame.events) ? frame.events : []) {
          if (protocol.isEventFrame(event)) this.handleEvent(event);
        }
        break;
      case protocol.SUBSCRIBED:
        this.handleSubscribedFrame(frame as unknown as Record<string, unknown>);
        break;
      case protocol.UNSUBSCRIBED:
        this.handleUnsubscribed(frame);
        break;
      case protocol.ERROR:
        this.handleError(frame);
        break;
      case protocol.RECONNECT:
        this.handleReconnect(frame);
        break;
      default:
        break;
    }
  }

  private handleReconnect(frame: ReconnectFrame): void {
    const afterMs = Number.isFinite(frame.after_ms) ? Math.max(0, frame.after_ms) : 0;
    const spreadMs = Number.isFinite(frame.spread_ms) ? Math.max(0, frame.spread_ms) : 0;
    // Bounded, so a confused server cannot park clients for hours.
    this.restartHint = { afterMs: Math.min(afterMs, 60_000), spreadMs: Math.min(spreadMs, 60_000) };
  }

  private handleEvent(frame: EventFrame): void {
    if (typeof frame.meta.list === "string") {
      const subscription = this.listSubscription(frame.meta.list, frame.meta.object_type);
      if (subscription) this.applyListEvent(subscription, frame);
      return;
    }
    const subscription = this.subscriptions.get(keyOfMeta(frame.meta));
    if (!subscription || subscription.have) return;
    if (subscription.phase === "reloading" || subscription.seq === null) {
      subscription.held.push(frame);
      return;
    }
    this.applyEvent(subscription, frame);
  }

  /** The list subscription a frame's `meta.list` names. */
  private listSubscription(name: string, objectType: string): Subscription | null {
    const key = this.listNames.get(name) ?? name;
    const subscription = this.subscriptions.get(key);
    if (subscription?.have) return subscription;
    // A name spelt otherwise than ours, before its `subscribed` told us: the one list of that type being subscribed.
    const candidates = [...this.subscriptions.values()].filter(
      (s) => s.have && s.stream === null && s.phase === "subscribing" && s.target.objectType === objectType,
    );
    if (candidates.length !== 1) return null;
    this.listNames.set(name, candidates[0].key);
    return candidates[0];
  }

  private applyListEvent(subscription: Subscription, frame: EventFrame): void {
    const { id, seq, epoch, membership } = frame.meta;
    if (id === null || subscription.have === null) return;
    const held = subscription.have.get(id);
    if (membership === protocol.MEMBERSHIP_LEAVE) {
      // Removing is idempotent; a leave of an object not held is a duplicate.
      if (!held) {
        this.emit((l) => l.onDuplicate?.(frame));
        return;
      }
      subscription.have.delete(id);
    } else {
      if (held && held.epoch === epoch && seq <= held.seq) {
        this.emit((l) => l.onDuplicate?.(frame));
        return;
      }
      subscription.have.set(id, { seq, epoch });
    }
    this.deliver(subscription, frame);
  }

  private applyEvent(subscription: Subscription, frame: EventFrame): void {
    const { seq, epoch } = frame.meta;
    const last = subscription.seq ?? 0;
    if (subscription.epoch !== null && epoch !== subscription.epoch) {
      // The stream's history was reset: our position means nothing there; the server will say recovered:false.
      this.emit((l) => l.onGap?.({ key: subscription.key, expected: last + 1, received: seq }));
      if (subscription.phase !== "subscribing") this.sendSubscribe(subscription);
      return;
    }
    if (seq <= last) {
      this.emit((l) => l.onDuplicate?.(frame));
      return;
    }
    if (seq > last + 1) {
      this.emit((l) => l.onGap?.({ key: subscription.key, expected: last + 1, received: seq }));
      // While a subscribe is in flight its replay fills the gap; otherwise ask for one.
      if (subscription.phase !== "subscribing") this.sendSubscribe(subscription);
      return;
    }
    subscription.seq = seq;
    subscription.epoch = epoch;
    this.deliver(subscription, frame);
  }

  private deliver(subscription: Subscription, frame: EventFrame): void {
    for (const handlers of [...subscription.handlers]) handlers.onEvent?.(frame);
    this.emit((l) => l.onEvent?.(frame, subscription.key));
  }

  private handleSubscribedFrame(frame: Record<string, unknown>): void {
    const requestId = frame.request_id as RequestId | undefined;
    if (Array.isArray(frame.results)) {
      const results = frame.results as SubscribeResult[];
      const keys = requestId === undefined ? undefined : this.requests.get(requestId);
      if (requestId !== undefined) this.requests.delete(requestId);
      (keys ?? []).forEach((key, index) => {
        const subscription = this.current(key, requestId);
        const result = results[index];
        if (!subscription || result === undefined) return;
        subscription.requestId = null;
        if (isError(result)) this.handleEntryError(subscription, result.error.code);
        else this.handleResult(subscription, result);
      });
      return;
    }
    const subscription = this.answered(requestId);
    if (subscription) this.handleResult(subscription, frame as unknown as StreamSubscribed | ListSubscribed);
  }

  private handleResult(subscription: Subscription, result: StreamSubscribed | ListSubscribed): void {
    subscription.stream = result.stream;
    if (isListResult(result) || subscription.have) {
      if (result.stream !== subscription.key) this.listNames.set(result.stream, subscription.key);
      subscription.phase = "live";
      this.subscribedDone(subscription, result.stream, result.replayed ?? 0, false);
      return;
    }
    if (result.recovered && subscription.seq !== null) {
      subscription.epoch = result.epoch;
      if (subscription.seq < result.seq) {
        // The replay did not bring us to the announced head: ask again from where we are.
        this.emit((l) => l.onGap?.({ key: subscription.key, expected: subscription.seq! + 1, received: result.seq }));
        this.sendSubscribe(subscription);
        return;
      }
      subscription.phase = "live";
      this.subscribedDone(subscription, result.stream, result.replayed, false);
      return;
    }
    this.reload(subscription, result.stream, result.reason);
  }

  private reload(subscription: Subscription, stream: string, reason: string | undefined): void {
    subscription.phase = "reloading";
    this.updateStatus();
    const generation = subscription.generation;
    const current = () =>
      this.subscriptions.get(subscription.key) === subscription && subscription.generation === generation;
    const reload = [...subscription.handlers].find((h) => h.reload)?.reload ?? this.reloadTarget;
    const retry = () => {
      // REST failed (server restarting?): try the whole subscribe again a little later.
      if (!current()) return;
      setTimeout(() => {
        if (current()) this.sendSubscribe(subscription);
      }, this.options.retryAfterMs);
    };
    let loading: Promise<Position | null>;
    try {
      loading = reload!(subscription.target);
    } catch {
      retry();
      return;
    }
    loading.then((position) => {
      if (!current()) return;
      if (position === null) {
        this.end(subscription, protocol.NOT_FOUND);
        return;
      }
      subscription.seq = position.seq;
      subscription.epoch = position.epoch;
      subscription.phase = "live";
      const held = subscription.held;
      subscription.held = [];
      for (const frame of held) {
        if (subscription.phase === "live") this.applyEvent(subscription, frame);
      }
      this.subscribedDone(subscription, stream, 0, true, reason);
    }, retry);
  }

  private subscribedDone(
    subscription: Subscription,
    stream: string,
    replayed: number,
    reloaded: boolean,
    reason?: string,
  ): void {
    const info: SubscribedInfo = {
      key: subscription.key,
      target: subscription.target,
      stream,
      position: { seq: subscription.seq ?? 0, epoch: subscription.epoch },
      replayed,
      reloaded,
    };
    if (reason) info.reason = reason;
    for (const handlers of [...subscription.handlers]) handlers.onSubscribed?.(info);
    this.emit((l) => l.onSubscribed?.(info));
    if (this.round?.pending.delete(subscription.key)) {
      this.round.replayed += replayed;
      this.round.reloaded += reloaded ? 1 : 0;
    }
    this.updateStatus();
    this.finishRoundIfDone();
  }

  private handleUnsubscribed(frame: UnsubscribedFrame): void {
    if (!frame.reason) return; // the answer to our own unsubscribe
    const key = this.listNames.get(frame.stream) ?? keyOfStream(frame.stream);
    const subscription = this.subscriptions.get(key);
    if (subscription) this.end(subscription, frame.reason);
  }

  private handleError(frame: ErrorFrame): void {
    this.emit((l) => l.onError?.(frame));
    const requestId = frame.request_id;
    if (requestId === undefined) return;
    const keys = this.requests.get(requestId);
    if (keys === undefined) return;
    this.requests.delete(requestId);
    const subscriptions = keys
      .map((key) => this.current(key, requestId))
      .filter((subscription): subscription is Subscription => subscription !== null);
    for (const subscription of subscriptions) subscription.requestId = null;
    if (keys.length > 1 && frame.code === protocol.INVALID) {
      // A server without batch subscribe refuses the `streams` form: subscribe one by one from now on.
      this.batchUnsupported = true;
      this.sendBatch(subscriptions);
      return;
    }
    for (const subscription of subscriptions) this.handleEntryError(subscription, frame.code);
  }

  private handleEntryError(subscription: Subscription, code: string): void {
    if (TRANSIENT_ERRORS.has(code)) {
      const generation = subscription.generation;
      setTimeout(() => {
        if (this.subscriptions.get(subscription.key) === subscription && subscription.generation === generation) {
          this.sendSubscribe(subscription);
        }
      }, this.options.retryAfterMs);
      return;
    }
    this.end(subscription, code);
  }

  /** The subscription `key` names, if `requestId` is its latest request. */
  private current(key: string, requestId: RequestId | undefined): Subscription | null {
    const subscription = this.subscriptions.get(key);
    if (!subscription || requestId === undefined || subscription.requestId !== requestId) return null;
    return subscription;
  }

  /** The subscription a single reply answers, if the reply is to its latest request. */
  private answered(requestId: RequestId | undefined): Subscription | null {
    if (requestId === undefined) return null;
    const keys = this.requests.get(requestId);
    this.requests.delete(requestId);
    const subscription = keys?.length === 1 ? this.current(keys[0], requestId) : null;
    if (subscription) subscription.requestId = null;
    return subscription;
  }

  private forgetListName(subscription: Subscription): void {
    if (subscription.stream !== null) this.listNames.delete(subscription.stream);
  }

  private end(subscription: Subscription, reason: EndReason): void {
    if (this.subscriptions.get(subscription.key) !== subscription) return;
    this.subscriptions.delete(subscription.key);
    this.forgetListName(subscription);
    this.round?.pending.delete(subscription.key);
    const info: EndedInfo = { key: subscription.key, target: subscription.target, stream: subscription.stream, reason };
    for (const handlers of [...subscription.handlers]) handlers.onEnded?.(info);
    this.emit((l) => l.onEnded?.(info));
    this.updateStatus();
    this.finishRoundIfDone();
  }

  // --- status -----------------------------------------------------------------

  private finishRoundIfDone(): void {
    const round = this.round;
    if (!round || round.pending.size > 0) return;
    this.round = null;
    const info: CaughtUpInfo = {
      reconnect: round.reconnect,
      streams: round.streams,
      replayed: round.replayed,
      reloaded: round.reloaded,
      ms: this.options.now() - round.startedAt,
    };
    this.emit((l) => l.onCaughtUp?.(info));
  }

  private updateStatus(): void {
    if (!this.isOpen()) return;
    const catchingUp = [...this.subscriptions.values()].some((s) => s.phase !== "live");
    this.setStatus(catchingUp ? "replaying" : "live");
  }

  private setStatus(status: ConnectionStatus): void {
    if (status === this.statusValue) return;
    this.statusValue = status;
    this.emit((l) => l.onStatus?.(status));
  }

  private emit(call: (listener: RealtimeListener) => void): void {
    for (const listener of [...this.listeners]) call(listener);
  }
}
