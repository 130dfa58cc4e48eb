/**
 * The realtime client, to lift into any app: `new RealtimeClient({reload})`,
 * `client.subscribe({objectType: "foo", id}, foo.stream)`, listen with
 * `client.addListener({onEvent, onStatus, ...})`. No React or Redux inside;
 * `rtkQuery.ts` (imported on its own) keeps RTK Query cache entries live with it.
 */
export { Backoff, backoffDelay, type BackoffOptions } from "./backoff";
export {
  RealtimeClient,
  defaultSocketUrl,
  targetKey,
  type CaughtUpInfo,
  type ConnectionStatus,
  type EndReason,
  type EndedInfo,
  type Position,
  type RealtimeClientOptions,
  type RealtimeListener,
  type Reload,
  type SocketLike,
  type SubscribedInfo,
  type SubscriptionHandlers,
  type Target,
} from "./client";
export * as protocol from "./protocol";
export type { EventFrame, EventMeta, ListParams } from "./protocol";
