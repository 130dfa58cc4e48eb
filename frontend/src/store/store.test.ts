/** The demo store: the session connects the socket, the inbox and saves stay consistent, errors read as sentences. */
import { describe, expect, it } from "vitest";

import { api } from "../api/api";
import { errorMessage } from "../api/http";
import type { FooResource, InboxPage } from "../api/types";
import { RealtimeClient } from "../realtime";
import { fakeFetch, type Handler } from "../test/fakeFetch";
import { fooEvent, mockSockets } from "../test/mockSocket";
import { makeStore } from "./index";
import { fooSelected, openFoo } from "./session";

const BOB = { id: "u2", username: "bob", is_staff: false };

function fooResource(id: string, seq: number, fields: Partial<FooResource> = {}): FooResource {
  return {
    id,
    name: `foo ${id}`,
    bar: "",
    owner: "alice",
    members: ["bob"],
    created_at: "2026-11-22T12:00:00Z",
    updated_at: "2026-11-22T12:00:00Z",
    stream: { name: `foo.${id}`, seq, epoch: "ep1" },
    ...fields,
  };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

async function session(routes: Record<string, Handler> = {}) {
  const { fetch, calls } = fakeFetch({
    "GET /api/auth/csrf": () => ({ body: { csrftoken: "x" } }),
    "GET /api/me": () => ({ body: BOB }),
    "GET /api/notifications": () => ({
      body: { stream: "user.u2", epoch: "in1", seq: 0, recovered: true, results: [], next: null, unread: 0 },
    }),
    ...routes,
  });
  const sockets = mockSockets();
  const client = new RealtimeClient({
    url: "ws://test/",
    createSocket: sockets.createSocket,
    pingIntervalMs: 0,
    connectTimeoutMs: 0,
  });
  const store = makeStore({ fetchImpl: fetch, client, history: null });
  store.dispatch(api.endpoints.me.initiate());
  await flush();
  sockets.last().open();
  return { store, client, sockets, calls };
}

describe("session", () => {
  it("connects the socket once a user is found", async () => {
    const { client, sockets } = await session();
    expect(sockets.sockets).toHaveLength(1);
    expect(client.status).toBe("live");
  });

  it("ends the session when the server refuses the socket with 4401, saying why", async () => {
    const { store, sockets } = await session();
    sockets.last().drop(4401);
    await flush();
    expect(api.endpoints.me.select()(store.getState()).data).toBeNull();
    expect(store.getState().session.notice).toMatch(/log in again/);
  });
});

describe("inbox", () => {
  it("counts a new unread entry once, and marking it read lowers the count", async () => {
    const entry = {
      id: "n1",
      event: "api:foo:shared",
      title: "alice shared “x” with you",
      body: "",
      icon: "",
      client_action: "/foo/a",
      object_type: "foo",
      object_id: "a",
      data: {},
      read: false,
      created_at: "2026-11-22T12:00:00Z",
    };
    const { store, sockets } = await session({
      "PATCH /api/notifications/n1": () => ({ body: { ...entry, read: true } }),
    });
    store.dispatch(api.endpoints.inbox.initiate());
    await flush();
    const request = sockets.last().sentActions("subscribe").at(-1)!;
    expect(request).toMatchObject({ object_type: "inbox", since: 0, epoch: "in1" });
    sockets.last().receive({
      type: "subscribed",
      request_id: request.request_id,
      stream: "user.u2",
      epoch: "in1",
      seq: 0,
      recovered: true,
      replayed: 0,
    });
    const meta = {
      stream: "user.u2",
      epoch: "in1",
      seq: 1,
      event: "api:foo:shared",
      object_type: "inbox",
      id: "u2",
      at: "",
    };
    sockets.last().receive({ type: "CREATE_NOTIFICATION", payload: entry, meta });
    sockets.last().receive({ type: "CREATE_NOTIFICATION", payload: entry, meta });
    const page = () => api.endpoints.inbox.select()(store.getState()).data as InboxPage;
    expect(page().unread).toBe(1);
    expect(page().results).toHaveLength(1);
    await store.dispatch(api.endpoints.markRead.initiate({ id: "n1", read: true }));
    expect(page().unread).toBe(0);
  });
});

describe("saving", () => {
  async function open(saved: FooResource) {
    const context = await session({
      "GET /api/foo/a": () => ({ body: fooResource("a", 3) }),
      "PATCH /api/foo/a": () => ({ body: saved }),
    });
    context.store.dispatch(api.endpoints.getFoo.initiate({ id: "a", attempt: 0 }));
    await flush();
    const request = context.sockets.last().sentActions("subscribe").at(-1)!;
    context.sockets.last().receive({
      type: "subscribed",
      request_id: request.request_id,
      stream: "foo.a",
      epoch: "ep1",
      seq: 3,
      recovered: true,
      replayed: 0,
    });
    return context;
  }
  const item = (store: Awaited<ReturnType<typeof session>>["store"]) =>
    api.endpoints.getFoo.select({ id: "a", attempt: 0 })(store.getState()).data?.item;

  it("does not let a save response overwrite a newer live state", async () => {
    const { store, sockets } = await open(fooResource("a", 4, { name: "stale save response" }));
    sockets.last().receive(fooEvent("a", 4, { name: "bob's newer change", owner: "alice", members: [] }));
    await store.dispatch(api.endpoints.updateFoo.initiate({ id: "a", changes: { name: "x" } }));
    expect(item(store)?.name).toBe("bob's newer change");
  });

  it("applies a save response that is ahead of the socket", async () => {
    const { store } = await open(fooResource("a", 4, { name: "saved" }));
    await store.dispatch(api.endpoints.updateFoo.initiate({ id: "a", changes: { name: "saved" } }));
    expect(item(store)?.name).toBe("saved");
  });

  it("unselects a Foo deleted from this page", async () => {
    const { store } = await session({ "DELETE /api/foo/a": () => ({ status: 204 }) });
    store.dispatch(fooSelected("a"));
    await store.dispatch(api.endpoints.deleteFoo.initiate("a"));
    expect(store.getState().session.selectedId).toBeNull();
  });

  it("turns a failed save into a sentence, not 'Failed to fetch'", async () => {
    const { store } = await session({ "PATCH /api/foo/a": () => "offline" });
    const result = await store.dispatch(api.endpoints.updateFoo.initiate({ id: "a", changes: { name: "x" } }));
    expect("error" in result && result.error).toMatchObject({
      status: "offline",
      message: expect.stringMatching(/could not be reached, so nothing was saved/),
    });
  });
});

describe("opening a Foo", () => {
  it("loads a Foo whose entry is gone afresh when it is opened again (shared again after being unshared)", async () => {
    let shared = true;
    const { store, sockets, calls } = await session({
      "GET /api/foo/a": () => (shared ? { body: fooResource("a", 3) } : { status: 404 }),
    });
    store.dispatch(openFoo("a"));
    store.dispatch(api.endpoints.getFoo.initiate({ id: "a", attempt: 0 }));
    await flush();
    const first = sockets.last().sentActions("subscribe").at(-1)!;
    sockets.last().receive({
      type: "subscribed",
      request_id: first.request_id,
      stream: "foo.a",
      epoch: "ep1",
      seq: 3,
      recovered: true,
      replayed: 0,
    });
    shared = false;
    sockets.last().receive({ type: "unsubscribed", stream: "foo.a", reason: "revoked" });
    expect(api.endpoints.getFoo.select({ id: "a", attempt: 0 })(store.getState()).data?.gone).toEqual({
      reason: "revoked",
    });
    shared = true;
    store.dispatch(openFoo("a"));
    expect(store.getState().session.attempt).toBe(1);
    store.dispatch(api.endpoints.getFoo.initiate({ id: "a", attempt: 1 }));
    await flush();
    expect(calls.filter((call) => call === "GET /api/foo/a")).toHaveLength(2);
    expect(sockets.last().sentActions("subscribe").at(-1)).toMatchObject({ object_type: "foo", id: "a", since: 3 });
    expect(api.endpoints.getFoo.select({ id: "a", attempt: 1 })(store.getState()).data?.gone).toBeNull();
  });
});

describe("errorMessage", () => {
  it("names the field of a validation error, and says what a status means", () => {
    expect(errorMessage(400, { name: ["This field may not be blank."] })).toBe("Name: This field may not be blank.");
    expect(errorMessage(400, { members: ["Object with username=zed does not exist."] })).toMatch(/^Shared with: /);
    expect(errorMessage(403, { detail: "You do not have permission to perform this action." })).toMatch(/permission/);
    expect(errorMessage(502, null)).toMatch(/server failed \(502\); nothing was changed/);
  });
});
