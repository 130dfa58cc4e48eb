/** The Redux glue: REST loads subscribe from their position, socket events and endings land in the slices. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { RealtimeClient } from "../realtime";
import type { FooResource } from "../api/types";
import { fakeApi, fooResource, notification, BOB } from "../test/fakeApi";
import { fooEvent, mockSockets } from "../test/mockSocket";
import { sessionStarted } from "./authSlice";
import { createFoo, fetchFoo, fooSelectors, saveFoo } from "./foosSlice";
import { markRead } from "./inboxSlice";
import { makeStore } from "./index";

/** Log Bob in against a fake REST API (`prepare` may change it first) and open the mock socket. */
async function startSession(
  options: Parameters<typeof fakeApi>[0] = {},
  prepare: (api: ReturnType<typeof fakeApi>["api"]) => void = () => undefined,
) {
  const { api, byId } = fakeApi(options);
  prepare(api);
  const sockets = mockSockets();
  const client = new RealtimeClient({
    url: "ws://test/",
    createSocket: sockets.createSocket,
    pingIntervalMs: 0,
    connectTimeoutMs: 0,
  });
  const store = makeStore({ api, client });
  store.dispatch(sessionStarted(BOB));
  await vi.runAllTimersAsync();
  const socket = sockets.last();
  socket.open();
  return { store, api, byId, socket, sockets, client };
}

/** Answer every subscribe sent so far as caught up at the position it asked from. */
function answerAll(socket: ReturnType<ReturnType<typeof mockSockets>["last"]>) {
  for (const message of socket.sentActions("subscribe")) {
    const stream = message.object_type === "inbox" ? "user.u2" : `foo.${message.id}`;
    socket.receive({
      type: "subscribed",
      request_id: message.request_id,
      stream,
      epoch: message.epoch ?? "ep1",
      seq: message.since,
      recovered: true,
      replayed: 0,
    });
  }
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("session start", () => {
  it("loads the Foos and the inbox and subscribes to each from its REST position", async () => {
    const { store, socket } = await startSession({ foos: [fooResource("a", 3), fooResource("b", 7)] });
    expect(fooSelectors.selectIds(store.getState())).toEqual(["a", "b"]);
    const subscribes = socket
      .sentActions("subscribe")
      .map(({ object_type, id, since, epoch }) => ({ object_type, id, since, epoch }));
    expect(subscribes).toEqual(
      expect.arrayContaining([
        { object_type: "foo", id: "a", since: 3, epoch: "ep1" },
        { object_type: "foo", id: "b", since: 7, epoch: "ep1" },
        { object_type: "inbox", id: undefined, since: 0, epoch: "in1" },
      ]),
    );
    answerAll(socket);
    expect(store.getState().realtime.status).toBe("live");
  });
});

describe("loading the list", () => {
  it("merges the list into the store: a Foo changed live or created meanwhile keeps its newer state", async () => {
    let listed: (foos: FooResource[]) => void = () => undefined;
    const { store, socket, byId } = await startSession({}, (api) =>
      api.listFoos.mockImplementation(() => new Promise((resolve) => (listed = resolve))),
    );
    // Shared with Bob while his list loads: loaded on its own, then changed live.
    byId.set("s", fooResource("s", 2, { name: "fetched" }));
    await store.dispatch(fetchFoo("s"));
    answerAll(socket);
    socket.receive(fooEvent("s", 3, { name: "changed live", owner: "alice", members: ["bob"] }));
    await store.dispatch(createFoo({ name: "created meanwhile" }));
    listed([fooResource("s", 2, { name: "stale list entry" }), fooResource("a", 5, { name: "listed" })]);
    await vi.runAllTimersAsync();
    const names = fooSelectors.selectAll(store.getState()).map((foo) => [foo.id, foo.name]);
    expect(names).toEqual([
      ["s", "changed live"],
      ["new", "foo new"],
      ["a", "listed"],
    ]);
  });
});

describe("live events", () => {
  it("dispatches UPDATE_FOO into the foo slice and counts it in the debug counters", async () => {
    const { store, socket } = await startSession({ foos: [fooResource("a", 3)] });
    answerAll(socket);
    socket.receive(fooEvent("a", 4, { name: "renamed", bar: "x", owner: "alice", members: ["bob"] }, "ep1"));
    socket.receive(fooEvent("a", 4, { name: "duplicate" }, "ep1"));
    expect(fooSelectors.selectById(store.getState(), "a")?.name).toBe("renamed");
    const { debug, positions } = store.getState().realtime;
    expect(debug.applied["foo.a"]).toEqual([4]);
    expect(debug.duplicates).toBe(1);
    expect(positions["foo.a"]).toEqual({ seq: 4, epoch: "ep1" });
  });

  it("removes a Foo on DELETE_FOO", async () => {
    const { store, socket } = await startSession({ foos: [fooResource("a", 3)] });
    answerAll(socket);
    socket.receive({ ...fooEvent("a", 4), type: "DELETE_FOO", payload: { id: "a" } });
    expect(fooSelectors.selectIds(store.getState())).toEqual([]);
  });

  it.each(["revoked", "deleted"])("removes a Foo whose subscription the server ended (%s)", async (reason) => {
    const { store, socket } = await startSession({ foos: [fooResource("a", 3), fooResource("b", 1)] });
    answerAll(socket);
    socket.receive({ type: "unsubscribed", stream: "foo.a", reason });
    expect(fooSelectors.selectIds(store.getState())).toEqual(["b"]);
  });

  it("removes a Foo whose resubscribe after a reconnect is not_found (unshared while offline)", async () => {
    const { store, socket, sockets } = await startSession({ foos: [fooResource("a", 3)] });
    answerAll(socket);
    socket.drop();
    await vi.advanceTimersByTimeAsync(500);
    sockets.last().open();
    const request = sockets
      .last()
      .sentActions("subscribe")
      .find((message) => message.id === "a")!;
    sockets.last().receive({ type: "error", request_id: request.request_id, code: "not_found", message: "No." });
    expect(fooSelectors.selectIds(store.getState())).toEqual([]);
  });

  it("reloads a Foo over REST on recovered:false and continues from the REST position", async () => {
    const { store, socket, api, byId } = await startSession({ foos: [fooResource("a", 3)] });
    byId.set("a", fooResource("a", 40, { name: "from REST" }));
    const request = socket.sentActions("subscribe").find((message) => message.id === "a")!;
    socket.receive({
      type: "subscribed",
      request_id: request.request_id,
      stream: "foo.a",
      epoch: "ep1",
      seq: 40,
      recovered: false,
      replayed: 0,
    });
    await vi.runAllTimersAsync();
    expect(api.getFoo).toHaveBeenCalledWith("a");
    expect(fooSelectors.selectById(store.getState(), "a")?.name).toBe("from REST");
    expect(store.getState().realtime.positions["foo.a"]).toEqual({ seq: 40, epoch: "ep1" });
    expect(store.getState().realtime.debug.reloads).toBe(1);
  });
});

describe("connection refused", () => {
  it("ends the session when the server refuses the socket with 4401", async () => {
    const { store, socket, sockets } = await startSession({ foos: [fooResource("a", 3)] });
    socket.drop(4401);
    await vi.advanceTimersByTimeAsync(60_000);
    const state = store.getState();
    expect(state.auth.status).toBe("anonymous");
    expect(state.auth.error).toMatch(/log in again/);
    expect(fooSelectors.selectIds(state)).toEqual([]);
    expect(sockets.sockets).toHaveLength(1);
  });
});

describe("inbox", () => {
  it("counts a new notification as unread and loads the Foo it shares", async () => {
    const { store, socket, byId } = await startSession({ unread: 2 });
    answerAll(socket);
    byId.set("s", fooResource("s", 2, { name: "shared now" }));
    socket.receive({
      type: "CREATE_NOTIFICATION",
      payload: notification("n1", { object_type: "foo", object_id: "s" }),
      meta: {
        stream: "user.u2",
        epoch: "in1",
        seq: 1,
        event: "api:foo:shared",
        object_type: "inbox",
        id: "u2",
        at: "",
      },
    });
    await vi.runAllTimersAsync();
    expect(store.getState().inbox.unread).toBe(3);
    expect(fooSelectors.selectById(store.getState(), "s")?.name).toBe("shared now");
    expect(socket.sentActions("subscribe").at(-1)).toMatchObject({ object_type: "foo", id: "s", since: 2 });
  });

  it("takes only titled events of the inbox stream as entries, and the unread count from the page", async () => {
    const inboxMeta = (seq: number, event: string) => ({
      stream: "user.u2",
      epoch: "in1",
      seq,
      event,
      object_type: "inbox",
      id: "u2",
      at: "",
    });
    const { store, socket } = await startSession({
      inbox: {
        stream: "user.u2",
        epoch: "in1",
        seq: 2,
        recovered: true,
        next: null,
        unread: 4,
        results: [
          { type: "CREATE_NOTIFICATION", payload: notification("n1"), meta: inboxMeta(1, "api:foo:shared") },
          { type: "SYNC_SETTINGS", payload: { theme: "dark" }, meta: inboxMeta(2, "api:settings:changed") },
        ],
      },
    });
    answerAll(socket);
    expect(store.getState().inbox.ids).toEqual(["n1"]);
    expect(store.getState().inbox.unread).toBe(4);
    socket.receive({ type: "SYNC_SETTINGS", payload: { theme: "light" }, meta: inboxMeta(3, "api:settings:changed") });
    socket.receive({
      type: "CREATE_MESSAGE",
      payload: notification("n4", {
        event: "api:message:sent",
        title: "alice wrote",
        created_at: "2026-11-23T00:00:00Z",
      }),
      meta: inboxMeta(4, "api:message:sent"),
    });
    expect(store.getState().inbox.ids).toEqual(["n4", "n1"]);
    expect(store.getState().inbox.unread).toBe(5);
  });

  it("forgets the inbox stream's position when the server ends the inbox subscription", async () => {
    const { store, socket } = await startSession();
    answerAll(socket);
    expect(store.getState().realtime.positions["user.u2"]).toEqual({ seq: 0, epoch: "in1" });
    socket.receive({ type: "unsubscribed", stream: "user.u2", reason: "revoked" });
    expect(store.getState().realtime.positions).toEqual({});
  });

  it("marking a notification read lowers the unread count", async () => {
    const { store } = await startSession({
      inbox: {
        stream: "user.u2",
        epoch: "in1",
        seq: 1,
        recovered: true,
        next: null,
        results: [
          {
            type: "CREATE_NOTIFICATION",
            payload: notification("n1"),
            meta: {
              stream: "user.u2",
              epoch: "in1",
              seq: 1,
              event: "api:foo:shared",
              object_type: "inbox",
              id: "u2",
              at: "",
            },
          },
        ],
      },
      unread: 1,
    });
    await store.dispatch(markRead({ id: "n1", read: true }));
    expect(store.getState().inbox.unread).toBe(0);
    expect(store.getState().inbox.entities.n1.read).toBe(true);
  });
});

describe("saving", () => {
  it("does not let a save response overwrite a newer live state", async () => {
    const { store, socket, byId } = await startSession({ foos: [fooResource("a", 3)] });
    answerAll(socket);
    socket.receive(fooEvent("a", 4, { name: "bob's newer change", owner: "alice", members: [] }));
    byId.set("a", fooResource("a", 4, { name: "stale save response" }));
    await store.dispatch(saveFoo({ id: "a", changes: { name: "x" } }));
    expect(fooSelectors.selectById(store.getState(), "a")?.name).toBe("bob's newer change");
  });

  it("applies a save response that is ahead of the socket", async () => {
    const { store, socket, byId } = await startSession({ foos: [fooResource("a", 3)] });
    answerAll(socket);
    byId.set("a", fooResource("a", 4, { name: "saved" }));
    await store.dispatch(saveFoo({ id: "a", changes: { name: "saved" } }));
    expect(fooSelectors.selectById(store.getState(), "a")?.name).toBe("saved");
  });
});
