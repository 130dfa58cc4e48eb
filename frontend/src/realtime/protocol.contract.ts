/**
 * Compile-time check of `protocol.ts` against the AsyncAPI document (`messages.ts`, generated from it).
 *
 * No code: `tsc` (in `npm run lint` and `npm run build`) fails when a message the client sends is not
 * one the document says the server receives, or a frame the document says the server sends does not
 * fit the client's types. Regenerate with `npm run gen:asyncapi` after a server change.
 */
import type { components } from "./messages";
import type * as wire from "./protocol";

type Schema = components["schemas"];
/** `true` when `A` is assignable to `B`; `Assert` refuses anything else, so a mismatch is a type error. */
type Fits<A, B> = [A] extends [B] ? true : false;
type Assert<T extends true> = T;

/** What the client sends fits what the server receives. */
export type ClientToServer = [
  Assert<Fits<wire.SubscribeMessage, Schema["SubscribeMessage"]>>,
  Assert<Fits<wire.BatchSubscribeMessage, Schema["BatchSubscribeMessage"]>>,
  Assert<Fits<wire.SubscribeEntry, Schema["SubscribeEntry"]>>,
  Assert<Fits<wire.UnsubscribeMessage, Schema["UnsubscribeMessage"]>>,
  Assert<Fits<wire.PingMessage, Schema["PingMessage"]>>,
];

/** What the server sends fits the client's types. */
export type ServerToClient = [
  Assert<Fits<Schema["StreamSubscribed"], wire.StreamSubscribed>>,
  Assert<Fits<Schema["ListSubscribed"], wire.ListSubscribed>>,
  Assert<Fits<Schema["EntryError"], wire.EntryError>>,
  Assert<Fits<Schema["SubscribedFrame"], wire.SubscribedFrame>>,
  Assert<Fits<Schema["BatchSubscribedFrame"], wire.SubscribedFrame>>,
  Assert<Fits<Schema["UnsubscribedFrame"], wire.UnsubscribedFrame>>,
  Assert<Fits<Schema["PongFrame"], wire.PongFrame>>,
  Assert<Fits<Schema["ErrorFrame"], wire.ErrorFrame>>,
  Assert<Fits<Schema["EventsFrame"], wire.EventsFrame>>,
  Assert<Fits<Schema["ReconnectFrame"], wire.ReconnectFrame>>,
  Assert<Fits<Schema["EventMeta"], wire.EventMeta>>,
  Assert<Fits<Schema["UPDATE_FOO"], wire.EventFrame>>,
  Assert<Fits<Schema["LEAVE_FOO"], wire.EventFrame>>,
  Assert<Fits<Schema["CREATE_NOTIFICATION"], wire.EventFrame>>,
];

/** The constants the document spells agree with protocol.ts's. */
export type Constants = [
  Assert<Fits<Schema["SubscribeMessage"]["action"], typeof wire.SUBSCRIBE>>,
  Assert<Fits<Schema["UnsubscribeMessage"]["action"], typeof wire.UNSUBSCRIBE>>,
  Assert<Fits<Schema["PingMessage"]["action"], typeof wire.PING>>,
  Assert<Fits<Schema["PongFrame"]["type"], typeof wire.PONG>>,
  Assert<Fits<Schema["ErrorFrame"]["type"], typeof wire.ERROR>>,
  Assert<Fits<Schema["EventsFrame"]["type"], typeof wire.EVENTS>>,
  Assert<Fits<Schema["ReconnectFrame"]["type"], typeof wire.RECONNECT>>,
  Assert<Fits<Schema["UnsubscribedFrame"]["type"], typeof wire.UNSUBSCRIBED>>,
  Assert<Fits<NonNullable<Schema["EventMeta"]["membership"]>, wire.Membership>>,
  Assert<Fits<wire.Membership, NonNullable<Schema["EventMeta"]["membership"]>>>,
];
