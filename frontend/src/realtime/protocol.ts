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
/** Sent before a deliberate close (restart): `{type: "reconnect", after_ms, spread_ms}`. */
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

export interface SubscribeMessage {
  action: typeof SUBSCRIBE;
  request_id: RequestId;
  object_type: string;
  id?: string;
  since?: number;
  epoch?: string;
}

export interface UnsubscribeMessage {
  action: typeof UNSUBSCRIBE;
  request_id: RequestId;
  object_type: string;
  id?: string;
}

export interface PingMessage {
  action: typeof PING;
  request_id: RequestId;
}

export type ClientMessage = SubscribeMessage | UnsubscribeMessage | PingMessage;

export interface EventMeta {
  stream: string;
  epoch: string;
  seq: number;
  event: string;
  object_type: string;
  id: string | null;
  at: string;
}

/** A logged change, as a Redux action: `{type: "UPDATE_FOO", payload, meta}`. */
export interface EventFrame<P = Record<string, unknown>> {
  type: string;
  payload: P;
  meta: EventMeta;
}

export interface SubscribedFrame {
  type: typeof SUBSCRIBED;
  request_id?: RequestId;
  stream: string;
  epoch: string | null;
  seq: number;
  recovered: boolean;
  replayed: number;
  history?: string;
}

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

export type ControlFrame = SubscribedFrame | UnsubscribedFrame | PongFrame | ErrorFrame;
export type ServerFrame = ControlFrame | EventFrame;

/** True for frames that are logged events (they carry `meta.seq`). */
export function isEventFrame(frame: ServerFrame): frame is EventFrame {
  const meta = (frame as EventFrame).meta;
  return typeof meta === "object" && meta !== null && typeof meta.seq === "number";
}
