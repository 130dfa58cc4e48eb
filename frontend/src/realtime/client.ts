/**
 * `RealtimeClient`: one WebSocket to `/ws/notifications/`, many subscriptions, no lost events.
 *
 * Framework-agnostic (no React, no Redux): the Redux glue in `src/store/`
 * listens to it, and any other app can too. What it guarantees:
 *
 * - every subscription remembers the `seq`/`epoch` of the last event it
 *   applied; after a reconnect it resubscribes with `since`/`epoch` and the
 *   server replays what was missed (events first, then `subscribed`);
 * - an event is handed to listeners exactly once and in order: `seq <= last`
 *   is a duplicate and dropped, `seq > last + 1` is a gap and triggers a
 *   resubscribe from `last`;
 * - when the server cannot replay (`recovered: false`), the subscription's
 *   `reload` (a REST fetch of the object) gives the new position, live events
 *   that arrived meanwhile are held and applied past it;
 * - reconnects back off exponentially with full jitter (min 0.5 s, max 20 s),
 *   reset once a connection has stayed up for `stableAfterMs`; a handshake
 *   that hangs is given up after `connectTimeoutMs` and retried the same way;
 * - subscribe requests made while offline are queued and sent on connect.
 */

import { Backoff, type BackoffOptions } from "./backoff";
import * as protocol from "./protocol";
import type {
  ClientMessage,
  ErrorFrame,
  EventFrame,
  RequestId,
  ServerFrame,
  SubscribedFrame,
  UnsubscribedFrame,
} from "./protocol";

/**
 * `connecting`: first connection under way; `replaying`: connected, some
 * subscription is still catching up; `live`: connected and caught up;
 * `reconnecting`: connection lost, waiting to retry; `closed`: stopped (by
 * `close()`, or refused by the server: see `closeCode`).
 */
export type ConnectionStatus = "idle" | "connecting" | "replaying" | "live" | "reconnecting" | "closed";

/** What to subscribe to: an object (`{objectType: "foo", id}`) or the inbox (`{objectType: "inbox"}`). */
export interface Target {
  objectType: string;
  id?: string;
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
  /** An event, in order, exactly once per stream position. */
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
  reload?: Reload;
  createSocket?: (url: string) => SocketLike;
  backoff?: BackoffOptions;
  /** A connection up this long resets the backoff (default 5 s). */
  stableAfterMs?: number;
  /** A handshake not done after this long is abandoned and retried with backoff (default 10 s; 0: off). */
  connectTimeoutMs?: number;
  /** Send a ping this often; no frame before the next one means the socket is dead (default 25 s; 0: off). */
  pingIntervalMs?: number;
  /** Retry a subscribe that failed with a transient error (`rate_limited`, `server_error`) after this long. */
  retryAfterMs?: number;
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
  phase: Phase;
  requestId: RequestId | null;
  /** Bumped on every subscribe request, so late answers to older ones are recognised. */
  generation: number;
  /** Live events held while there is no position to apply them against. */
  held: EventFrame[];
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

/** The key a client uses for a target: the stream name for objects, `inbox` for the inbox. */
export function targetKey(target: Target): string {
  if (target.objectType === protocol.INBOX) return protocol.INBOX;
  if (!target.id) throw new Error(`Subscribing to a ${target.objectType} needs an id.`);
  return `${target.objectType}.${target.id}`;
}

function keyOfMeta(meta: EventFrame["meta"]): string {
  return meta.object_type === protocol.INBOX ? protocol.INBOX : `${meta.object_type}.${meta.id}`;
}

function keyOfStream(stream: string): string {
  return stream.startsWith(`${protocol.INBOX_STREAM_PREFIX}.`) ? protocol.INBOX : stream;
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
  private readonly requests = new Map<RequestId, string>();
  private socket: SocketLike | null = null;
  private started = false;
  private everOpened = false;
  private requestCounter = 0;
  private statusValue: ConnectionStatus = "idle";
  private round: Round | null = null;
  private awaitingPong = false;
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
      createSocket: options.createSocket ?? ((url: string) => new WebSocket(url) as unknown as SocketLike),
      stableAfterMs: options.stableAfterMs ?? 5_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      pingIntervalMs: options.pingIntervalMs ?? 25_000,
      retryAfterMs: options.retryAfterMs ?? 2_000,
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

  /** Set how targets are reloaded over REST when the server cannot replay. */
  setReload(reload: Reload): void {
    this.reloadTarget = reload;
  }

  /** Open the socket (and keep it open, reconnecting, until `close()`). */
  connect(): void {
    if (this.started) return;
    if (!this.reloadTarget) {
      throw new Error(
        "RealtimeClient needs a `reload` option (or setReload()) before connect(): it reloads an object over REST " +
          "when the server cannot replay what was missed.",
      );
    }
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
   * Subscribe to `target`, continuing from `position` (the `stream` of the
   * REST response it was loaded from). Without a position the server cannot
   * replay and the target is reloaded. Idempotent; queued while offline.
   */
  subscribe(target: Target, position?: Position | null): void {
    const key = targetKey(target);
    if (this.subscriptions.has(key)) return;
    const subscription: Subscription = {
      key,
      target: { ...target },
      stream: null,
      seq: position?.seq ?? null,
      epoch: position?.epoch ?? null,
      phase: "queued",
      requestId: null,
      generation: 0,
      held: [],
    };
    this.subscriptions.set(key, subscription);
    this.sendSubscribe(subscription);
  }

  /** Stop receiving `target`'s events (not an error if it is not subscribed). */
  unsubscribe(target: Target): void {
    const key = targetKey(target);
    if (!this.subscriptions.delete(key)) return;
    this.round?.pending.delete(key);
    const request: ClientMessage = {
      action: protocol.UNSUBSCRIBE,
      request_id: this.nextRequestId(),
      object_type: target.objectType,
    };
    if (target.objectType !== protocol.INBOX) request.id = target.id;
    this.send(request);
    this.updateStatus();
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

  /** Keys of the active subscriptions. */
  subscribed(): string[] {
    return [...this.subscriptions.keys()];
  }

  // --- connection -------------------------------------------------------------

  private open(): void {
    const url = typeof this.url === "function" ? this.url() : this.url;
    const socket = this.options.createSocket(url);
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
    // The offline queue: every active subscription, from its last applied position.
    for (const subscription of this.subscriptions.values()) {
      this.sendSubscribe(subscription);
    }
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
    if (!this.started) return;
    if (REFUSED_CLOSE_CODES.has(code)) {
      this.started = false;
      this.setStatus("closed");
      return;
    }
    this.setStatus("reconnecting");
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.started) this.open();
    }, this.backoff.next());
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
    if (!this.socket || this.socket.readyState !== OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  private nextRequestId(): string {
    this.requestCounter += 1;
    return `r${this.requestCounter}`;
  }

  // --- subscriptions ------------------------------------------------------------

  private sendSubscribe(subscription: Subscription): void {
    subscription.generation += 1;
    if (!this.socket || this.socket.readyState !== OPEN) {
      subscription.phase = "queued";
      subscription.requestId = null;
      return;
    }
    const requestId = this.nextRequestId();
    const message: ClientMessage = {
      action: protocol.SUBSCRIBE,
      request_id: requestId,
      object_type: subscription.target.objectType,
    };
    if (subscription.target.objectType !== protocol.INBOX) message.id = subscription.target.id;
    if (subscription.seq !== null) {
      message.since = subscription.seq;
      if (subscription.epoch !== null) message.epoch = subscription.epoch;
    }
    subscription.phase = "subscribing";
    subscription.requestId = requestId;
    this.requests.set(requestId, subscription.key);
    this.send(message);
    this.updateStatus();
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
    if (protocol.isEventFrame(frame)) {
      this.handleEvent(frame);
      return;
    }
    switch (frame.type) {
      case protocol.SUBSCRIBED:
        this.handleSubscribed(frame as SubscribedFrame);
        break;
      case protocol.UNSUBSCRIBED:
        this.handleUnsubscribed(frame as UnsubscribedFrame);
        break;
      case protocol.ERROR:
        this.handleError(frame as ErrorFrame);
        break;
      default:
        break;
    }
  }

  private handleEvent(frame: EventFrame): void {
    const subscription = this.subscriptions.get(keyOfMeta(frame.meta));
    if (!subscription) return;
    if (subscription.phase === "reloading" || subscription.seq === null) {
      subscription.held.push(frame);
      return;
    }
    this.applyEvent(subscription, frame);
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
    this.emit((l) => l.onEvent?.(frame, subscription.key));
  }

  private handleSubscribed(frame: SubscribedFrame): void {
    const subscription = this.answered(frame.request_id);
    if (!subscription) return;
    subscription.stream = frame.stream;
    if (frame.recovered && subscription.seq !== null) {
      subscription.epoch = frame.epoch;
      if (subscription.seq < frame.seq) {
        // The replay did not bring us to the announced head: ask again from where we are.
        this.emit((l) => l.onGap?.({ key: subscription.key, expected: subscription.seq! + 1, received: frame.seq }));
        this.sendSubscribe(subscription);
        return;
      }
      subscription.phase = "live";
      this.subscribedDone(subscription, frame.stream, frame.replayed, false);
      return;
    }
    this.reload(subscription, frame.stream);
  }

  private reload(subscription: Subscription, stream: string): void {
    subscription.phase = "reloading";
    this.updateStatus();
    const generation = subscription.generation;
    const current = () =>
      this.subscriptions.get(subscription.key) === subscription && subscription.generation === generation;
    this.reloadTarget!(subscription.target).then(
      (position) => {
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
        this.subscribedDone(subscription, stream, 0, true);
      },
      () => {
        // REST failed (server restarting?): try the whole subscribe again a little later.
        if (!current()) return;
        setTimeout(() => {
          if (current()) this.sendSubscribe(subscription);
        }, this.options.retryAfterMs);
      },
    );
  }

  private subscribedDone(subscription: Subscription, stream: string, replayed: number, reloaded: boolean): void {
    const info: SubscribedInfo = {
      key: subscription.key,
      target: subscription.target,
      stream,
      position: { seq: subscription.seq ?? 0, epoch: subscription.epoch },
      replayed,
      reloaded,
    };
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
    const subscription = this.subscriptions.get(keyOfStream(frame.stream));
    if (subscription) this.end(subscription, frame.reason);
  }

  private handleError(frame: ErrorFrame): void {
    this.emit((l) => l.onError?.(frame));
    const subscription = this.answered(frame.request_id);
    if (!subscription) return;
    if (TRANSIENT_ERRORS.has(frame.code)) {
      const generation = subscription.generation;
      setTimeout(() => {
        if (this.subscriptions.get(subscription.key) === subscription && subscription.generation === generation) {
          this.sendSubscribe(subscription);
        }
      }, this.options.retryAfterMs);
      return;
    }
    this.end(subscription, frame.code);
  }

  /** The subscription a reply answers, if the reply is to its latest request. */
  private answered(requestId: RequestId | undefined): Subscription | null {
    if (requestId === undefined) return null;
    const key = this.requests.get(requestId);
    this.requests.delete(requestId);
    const subscription = key === undefined ? undefined : this.subscriptions.get(key);
    if (!subscription || subscription.requestId !== requestId) return null;
    subscription.requestId = null;
    return subscription;
  }

  private end(subscription: Subscription, reason: EndReason): void {
    if (this.subscriptions.get(subscription.key) !== subscription) return;
    this.subscriptions.delete(subscription.key);
    this.round?.pending.delete(subscription.key);
    const info: EndedInfo = { key: subscription.key, target: subscription.target, stream: subscription.stream, reason };
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
    if (!this.socket || this.socket.readyState !== OPEN) return;
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
