/** An in-memory stand-in for the REST `Api`, for store tests (the real one is exercised end to end). */
import { vi } from "vitest";

import type { Api } from "../api/http";
import type { FooResource, InboxNotification, InboxPage, User } from "../api/types";

export function fooResource(id: string, seq: number, fields: Partial<FooResource> = {}): FooResource {
  return {
    id,
    name: `foo ${id}`,
    bar: "",
    owner: "alice",
    members: ["bob"],
    created_at: "2026-11-22T12:00:00.000000Z",
    updated_at: "2026-11-22T12:00:00.000000Z",
    stream: { name: `foo.${id}`, seq, epoch: "ep1" },
    ...fields,
  };
}

export function notification(id: string, fields: Partial<InboxNotification> = {}): InboxNotification {
  return {
    id,
    event: "api:foo:shared",
    title: "alice shared “x” with you",
    body: "",
    icon: "",
    client_action: "",
    object_type: "foo",
    object_id: null,
    data: {},
    read: false,
    created_at: "2026-11-22T12:00:00.000000Z",
    ...fields,
  };
}

export const BOB: User = { id: "u2", username: "bob", is_staff: false };

export function fakeApi({
  foos = [] as FooResource[],
  inbox = { stream: "user.u2", epoch: "in1", seq: 0, recovered: true, results: [], next: null } as InboxPage,
  unread = 0,
} = {}) {
  const byId = new Map(foos.map((foo) => [foo.id, foo]));
  const api = {
    csrf: vi.fn(async () => undefined),
    me: vi.fn(async () => BOB),
    login: vi.fn(async () => BOB),
    logout: vi.fn(async () => undefined),
    listFoos: vi.fn(async () => [...byId.values()]),
    getFoo: vi.fn(async (id: string) => byId.get(id) ?? null),
    createFoo: vi.fn(async () => fooResource("new", 1)),
    updateFoo: vi.fn(async (id: string) => byId.get(id)!),
    deleteFoo: vi.fn(async () => undefined),
    inbox: vi.fn(async () => ({ ...inbox, unread: inbox.unread ?? unread })),
    markRead: vi.fn(async (id: string, read: boolean) => notification(id, { read })),
  } satisfies Api;
  return { api, byId };
}
