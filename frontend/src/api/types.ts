/**
 * The REST shapes the demo uses, taken from the generated OpenAPI types.
 *
 * `schema.ts` is generated from `/api/schema/` (`npm run gen:api`; a pytest
 * test fails when it is out of date): nothing here is written by hand except
 * the names, and the one refinement OpenAPI cannot say (an inbox page's
 * `results` are the socket's event frames, typed by `realtime/protocol.ts`).
 */
import type { EventFrame } from "../realtime";
import type { components, operations } from "./schema";

type Schemas = components["schemas"];

export type User = Schemas["Me"];
/** A Foo as REST returns it: with the position of its stream, to subscribe from. */
export type FooResource = Schemas["Foo"];
export type StreamPosition = Schemas["StreamPosition"];
/** What a create or a PATCH may send. */
export type FooChanges = Omit<Schemas["PatchedFoo"], "id" | "owner" | "created_at" | "updated_at" | "stream">;
export type FooPage = Schemas["PaginatedFooList"];
/** The query parameters of `GET /api/foo` (besides pagination, those a live list subscribes with). */
export type FooListParams = NonNullable<operations["foo_list"]["parameters"]["query"]>;
/** The payload of a `CREATE_NOTIFICATION` (an inbox entry). */
export type InboxNotification = Schemas["InboxEntry"];
export type Credentials = Schemas["Login"];

/** `GET /api/notifications/` without `stream`: the latest page of your inbox. */
export type InboxPage = Omit<Schemas["LogPage"], "results"> & {
  /** Events of your inbox stream: the entries, and any other event an app sent you. */
  results: EventFrame<InboxNotification | Record<string, unknown>>[];
};
