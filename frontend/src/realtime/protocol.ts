/**
 * The wire protocol on `/ws/notifications/`, mirrored from `realtime/protocol.py`.
 *
 * The only place the client names a wire constant; docs/protocol.md describes
 * the whole exchange. Keep in step with the Python module.
 */

// Client actions.
export const SUBSCRIBE = "subscribe";
export const UNSUBSCRIBE = "unsubscribe";
export const PING = "ping";

// The object type a client subscribes to for its own inbox.
export const INBOX = "inbox";
// Inbox streams are named `user.<hashid>`; object streams `<object_type>.<hashid>`.
export const INBOX_STREAM_PREFIX = "user";

// Server frame types (besides the Redux actions of events).
export const SUBSCRIBED = "subscribed";
export const UNSUBSCRIBED = "unsubscribed";
export const PONG = "pong";
export const ERROR = "error";
/** Several replayed events in one frame: `{type: "events", events: [...]}`. */
export const EVENTS = "events";
/** Sent before a deliberate close (a restart, or a busy server shedding the handshake): `{type: "reconnect", after_ms, spread_ms}`. */
export const RECONNECT = "reconnect";

/** The WebSocket subprotocol a client asks for when it takes `events` frames (several replayed events per frame). */
export const SUBPROTOCOL_EVENTS = "realtime.v2";

/** Most events in one `events` frame (and roughly the most bytes). */
export const EVENTS_PER_FRAME = 500;
export const EVENTS_FRAME_BYTES = 262144;

// How an object stands to a live list (`meta.membership` of a list's frames).
export const MEMBERSHIP_ENTER = "enter";
export const MEMBERSHIP_UPDATE = "update";
export const MEMBERSHIP_LEAVE = "leave";
/** Query parameters of a list endpoint that a live list ignores (pagination). */
export const LIST_IGNORED_PARAMS: readonly string[] = ["limit", "offset", "page", "page_size", "cursor"];

// Why the server ended a subscription on its own (`unsubscribed.reason`).
export const REASON_DELETED = "deleted";
export const REASON_REVOKED = "revoked";

// Error codes (`error.code`).
export const INVALID = "invalid";
export const NOT_FOUND = "not_found";
export const NOT_AUTHENTICATED = "not_authenticated";
export const RATE_LIMITED = "rate_limited";
export const TOO_MANY_SUBSCRIPTIONS = "too_many_subscriptions";
export const SERVER_ERROR = "server_error";

// WebSocket close codes (docs/protocol.md, "Close codes").
export const CLOSE_NOT_AUTHENTICATED = 4401;
export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_TOO_SLOW = 4408;
export const CLOSE_MESSAGE_TOO_BIG = 4413;
export const CLOSE_TOO_MANY_SOCKETS = 4429;
export const CLOSE_SERVER_ERROR = 4500;
export const CLOSE_TRY_AGAIN = 4503;

// Redux action verbs.
export const CREATE = "CREATE";
export const UPDATE = "UPDATE";
export const DELETE = "DELETE";
/** An object left a live list (it still exists; the list's user may no longer see it or it stopped matching). */
export const LEAVE = "LEAVE";

// Action type of inbox notifications (a user-facing notification was created).
export const NOTIFICATION_CREATED = "CREATE_NOTIFICATION";

/** The WebSocket path, relative to the site root. */
export const SOCKET_PATH = "/ws/notifications/";

/** `actionType("UPDATE", "foo") === "UPDATE_FOO"`. */
export function actionType(verb: string, objectType: string): string {
  return `${verb}_${objectType}`.toUpperCase();
}

export type RequestId = string | number;

/** A list endpoint's query parameters (strings, or lists of strings for repeated parameters). */
export type ListParams = Record<string, string | string[]>;

/** What one subscription asks for: an object (`id`), the inbox, or a live list (`list` + `have`). */
export interface SubscribeEntry {
  object_type: string;
  id?: string;
  since?: number;
  epoch?: string;
  list?: ListParams;
  /** The objects the client holds of the list, with the seq it has of each. */
  have?: Record<string, number>;
}

export interface SubscribeMessage extends SubscribeEntry {
  action: typeof SUBSCRIBE;
  request_id: RequestId;
}

/** Many subscriptions in one message (after a reconnect); one `subscribed` with `results` answers it. */
export interface BatchSubscribeMessage {
  action: typeof SUBSCRIBE;
  request_id: RequestId;
  streams: SubscribeEntry[];
}

export interface UnsubscribeMessage {
  action: typeof UNSUBSCRIBE;
  request_id: RequestId;
  object_type: string;
  id?: string;
  list?: ListParams;
}

export interface PingMessage {
  action: typeof PING;
  request_id: RequestId;
}

export type ClientMessage = SubscribeMessage | BatchSubscribeMessage | UnsubscribeMessage | PingMessage;

export type Membership = typeof MEMBERSHIP_ENTER | typeof MEMBERSHIP_UPDATE | typeof MEMBERSHIP_LEAVE;

export interface EventMeta {
  stream: string;
  epoch: string;
  seq: number;
  event: string;
  object_type: string;
  id: string | null;
  at: string;
  /** On a live list's frames: the list's name (`foo?search=plans`). */
  list?: string;
  /** On a live list's frames: how the object stands to the list. */
  membership?: Membership;
}

/** A logged change, as a Redux action: `{type: "UPDATE_FOO", payload, meta}`. */
export interface EventFrame<P = Record<string, unknown>> {
  type: string;
  payload: P;
  meta: EventMeta;
}

/** Replayed events, several to a frame: apply each as if it had come alone. */
export interface EventsFrame {
  type: typeof EVENTS;
  events: EventFrame[];
}

/** The answer to one object or inbox subscription (or one entry of a batch). */
export interface StreamSubscribed {
  stream: string;
  epoch: string | null;
  seq: number;
  recovered: boolean;
  replayed: number;
  /** Why a `since` was not recovered: `epoch`, `pruned`, `ahead`, `limit` or `visibility`. */
  reason?: string;
  history?: string;
}

/** The answer to a live list subscription (or one entry of a batch). */
export interface ListSubscribed {
  stream: string;
  list: true;
  members: number;
  replayed: number;
}

/** A failed entry of a batch subscribe. */
export interface EntryError {
  error: { code: string; message: string; errors?: unknown };
}

export type SubscribeResult = StreamSubscribed | ListSubscribed | EntryError;

export type SubscribedFrame = { type: typeof SUBSCRIBED; request_id?: RequestId } & (
  StreamSubscribed | ListSubscribed | { results: SubscribeResult[] }
);

export interface UnsubscribedFrame {
  type: typeof UNSUBSCRIBED;
  request_id?: RequestId;
  stream: string;
  reason?: typeof REASON_DELETED | typeof REASON_REVOKED;
}

export interface PongFrame {
  type: typeof PONG;
  request_id?: RequestId;
}

export interface ErrorFrame {
  type: typeof ERROR;
  request_id?: RequestId;
  code: string;
  message: string;
  errors?: unknown;
}

/** Sent before the server closes on purpose (a restart, or shedding a handshake while busy): come back after `after_ms` plus a random share of `spread_ms`. */
export interface ReconnectFrame {
  type: typeof RECONNECT;
  after_ms: number;
  spread_ms: number;
}

export type ControlFrame = SubscribedFrame | UnsubscribedFrame | PongFrame | ErrorFrame | EventsFrame | ReconnectFrame;
export type ServerFrame = ControlFrame | EventFrame;

/** True for frames that are logged events (they carry `meta.seq`). */
export function isEventFrame(frame: ServerFrame): frame is EventFrame {
  const meta = (frame as EventFrame).meta;
  return typeof meta === "object" && meta !== null && typeof meta.seq === "number";
}

/**
 * A live list's name, as the server names it (`realtime.lists.list_key`):
 * `<type>?<query string sorted by name>` without the page parameters
 * (`foo?ordering=-updated_at&search=plans`, `foo?`).
 */
export function listName(objectType: string, params: ListParams): string {
  const pairs: [string, string][] = [];
  for (const [key, value] of Object.entries(params)) {
    if (LIST_IGNORED_PARAMS.includes(key)) continue;
    for (const item of Array.isArray(value) ? value : [value]) pairs.push([key, item]);
  }
  // By name only (a stable sort): a repeated parameter's values keep their order, as on the server.
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${objectType}?${new URLSearchParams(pairs).toString()}`;
}
