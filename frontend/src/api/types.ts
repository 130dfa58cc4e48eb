/** Shapes of the REST resources the demo uses (see the OpenAPI schema at /api/schema/). */
import type { EventFrame, Position } from "../realtime";

export interface User {
  id: string;
  username: string;
  is_staff: boolean;
}

export interface Foo {
  id: string;
  name: string;
  bar: string;
  owner: string;
  members: string[];
  created_at: string;
  updated_at: string;
}

export interface StreamPosition extends Position {
  name: string;
}

/** A Foo as REST returns it: with the position of its stream, to subscribe from. */
export interface FooResource extends Foo {
  stream: StreamPosition;
}

export interface FooChanges {
  name?: string;
  bar?: string;
  members?: string[];
}

/** The payload of a `CREATE_NOTIFICATION` (an inbox entry). */
export interface InboxNotification {
  id: string;
  event: string;
  title: string;
  body: string;
  icon: string;
  client_action: string;
  object_type: string;
  object_id: string | null;
  data: Record<string, unknown>;
  read: boolean;
  created_at: string;
}

/** `GET /api/notifications/` without `stream`: the latest page of your inbox. */
export interface InboxPage {
  stream: string;
  epoch: string | null;
  seq: number;
  recovered: boolean;
  /** Events of your inbox stream: the entries, and any other event an app sent you. */
  results: EventFrame<InboxNotification | Record<string, unknown>>[];
  next: string | null;
  /** How many of your inbox entries up to `seq` are unread. */
  unread?: number;
}
