/** RTK Query endpoints kept live by RealtimeClient over a mock socket: detail, list, stream, status. */
import { configureStore } from "@reduxjs/toolkit";
import { createApi, fakeBaseQuery } from "@reduxjs/toolkit/query";
import { describe, expect, it, vi } from "vitest";

import { fooEvent, mockSockets } from "../test/mockSocket";
import { RealtimeClient } from "./client";
import {
  bindRealtime,
  clientOf,
  liveDetail,
  liveEntry,
  liveList,
  liveListOf,
  realtimeSlice,
  type LiveEntry,
  type LiveItem,
  type LiveList,
} from "./rtkQuery";

interface Foo extends LiveItem {
  name: string;
}

function foo(id: string, seq: number, name = `foo ${id}`): Foo {
  return { id, name, stream: { name: `foo.${id}`, seq, epoch: "ep1" } };
}

const byName = (a: Foo, b: Foo) => a.name.localeCompare(b.name);

/** A store with one live detail and one live list endpoint over an in-memory "server". */
function setup() {
  const server = new Map<string, Foo>();
  const lists: Foo[] = [];
  const load = vi.fn(async (id: string) => server.get(id) ?? null);
  const api = createApi({
    baseQuery: fakeBaseQuery<Error>(),
    keepUnusedDataFor: 0,
    endpoints: (build) => ({
      getFoo: build.query<LiveEntry<Foo>, string>({
        queryFn: async (id) => {
          const found = server.get(id);
          return found ? { data: liveEntry(found) } : { error: new Error("404") };
        },
        onCacheEntryAdded: liveDetail<string, Foo>({ objectType: "foo", load }),
      }),
      listFoos: build.query<LiveList<Foo>, Record<string, string>>({
        queryFn: async () => ({ data: liveListOf(lists, byName) }),
        onCacheEntryAdded: liveList<Record<string, string>, Foo>({ objectType: "foo", compare: byName }),
      }),
    }),
  });
  const sockets = mockSockets();
  const client = new RealtimeClient({
    url: "ws://test/",
    createSocket: sockets.createSocket,
    pingIntervalMs: 0,
    connectTimeoutMs: 0,
    backoff: { random: () => 0 },
  });
  const store = configureStore({
    reducer: { [api.reducerPath]: api.reducer, realtime: realtimeSlice.reducer },
    middleware: (getDefault) => getDefault({ thunk: { extraArgument: { realtime: client } } }).concat(api.middleware),
  });
  bindRealtime(client, store.dispatch);
  client.connect();
  sockets.last().open();
  const detail = (id: string) => api.endpoints.getFoo.select(id)(store.getState()).data;
  const list = (params: Record<string, string>) => api.endpoints.listFoos.select(params)(store.getState()).data;
  return { api, store, client, sockets, server, lists, load, detail, list };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Answer the last subscribe on the socket as caught up at `seq`. */
function answer(socket: ReturnType<ReturnType<typeof mockSockets>["last"]>, fields: Record<string, unknown>) {
  const request = socket.sentActions("subscribe").at(-1)!;
  socket.receive({ type: "subscribed", request_id: request.request_id, epoch: "ep1", ...fields });
}

describe("liveDetail", () => {
  it("subscribes from the REST response's position and applies only newer events to the cache", async () => {
    const { api, store, sockets, server, detail } = setup();
    server.set("a", foo("a", 3));
    store.dispatch(api.endpoints.getFoo.initiate("a"));
    await flush();
    expect(sockets.last().sentActions("subscribe")).toEqual([
      { action: "subscribe", request_id: "r1", object_type: "foo", id: "a", since: 3, epoch: "ep1" },
    ]);
    answer(sockets.last(), { stream: "foo.a", seq: 3, recovered: true, replayed: 0 });
    sockets.last().receive(fooEvent("a", 4, { name: "renamed" }));
    sockets.last().receive(fooEvent("a", 4, { name: "duplicate" }));
    expect(detail("a")).toEqual({
      item: { id: "a", name: "renamed", stream: { name: "foo.a", seq: 4, epoch: "ep1" } },
      gone: null,
    });
    expect(store.getState().realtime.debug.applied["foo.a"]).toEqual([4]);
    expect(store.getState().realtime.status).toBe("live");
  });

  it("refetches on recovered: false and continues from the refetched position", async () => {
    const { api, store, sockets, server, detail, load, client } = setup();
    server.set("a", foo("a", 3));
    store.dispatch(api.endpoints.getFoo.initiate("a"));
    await flush();
    server.set("a", foo("a", 40, "from REST"));
    answer(sockets.last(), { stream: "foo.a", seq: 40, recovered: false, replayed: 0, reason: "pruned" });
    await flush();
    expect(load).toHaveBeenCalledWith("a", expect.anything());
    expect(detail("a")?.item.name).toBe("from REST");
    expect(client.position({ objectType: "foo", id: "a" })).toEqual({ seq: 40, epoch: "ep1" });
    expect(store.getState().realtime.debug.reloads).toBe(1);
  });

  it.each(["revoked", "deleted"])("keeps the last state and marks the entry gone when %s", async (reason) => {
    const { api, store, sockets, server, detail } = setup();
    server.set("a", foo("a", 3, "Plans"));
    store.dispatch(api.endpoints.getFoo.initiate("a"));
    await flush();
    answer(sockets.last(), { stream: "foo.a", seq: 3, recovered: true, replayed: 0 });
    sockets.last().receive({ type: "unsubscribed", stream: "foo.a", reason });
    expect(detail("a")).toEqual({ item: foo("a", 3, "Plans"), gone: { reason } });
  });

  it("marks the entry deleted on its DELETE event, whatever comes after", async () => {
    const { api, store, sockets, server, detail } = setup();
    server.set("a", foo("a", 3));
    store.dispatch(api.endpoints.getFoo.initiate("a"));
    await flush();
    answer(sockets.last(), { stream: "foo.a", seq: 3, recovered: true, replayed: 0 });
    sockets.last().receive({ ...fooEvent("a", 4), type: "DELETE_FOO", payload: { id: "a" } });
    sockets.last().receive({ type: "unsubscribed", stream: "foo.a", reason: "deleted" });
    expect(detail("a")?.gone).toEqual({ reason: "deleted" });
    expect(detail("a")?.item.name).toBe("foo a");
  });

  it("replays what it missed after a reconnect, from the last applied event", async () => {
    const { api, store, sockets, server, detail } = setup();
    server.set("a", foo("a", 3));
    store.dispatch(api.endpoints.getFoo.initiate("a"));
    await flush();
    answer(sockets.last(), { stream: "foo.a", seq: 3, recovered: true, replayed: 0 });
    sockets.last().receive(fooEvent("a", 4));
    sockets.last().drop(1006);
    await flush();
    sockets.last().open();
    expect(sockets.last().sentActions("subscribe")).toEqual([
      { action: "subscribe", request_id: "r2", object_type: "foo", id: "a", since: 4, epoch: "ep1" },
    ]);
    sockets.last().receive({ type: "events", events: [fooEvent("a", 5), fooEvent("a", 6, { name: "last" })] });
    answer(sockets.last(), { stream: "foo.a", seq: 6, recovered: true, replayed: 2 });
    expect(detail("a")?.item).toMatchObject({ name: "last", stream: { seq: 6 } });
    expect(store.getState().realtime.lastCatchUp).toMatchObject({ reconnect: true, replayed: 2, streams: 1 });
  });

  it("unsubscribes when the cache entry is removed", async () => {
    const { api, store, sockets, server } = setup();
    server.set("a", foo("a", 3));
    const query = store.dispatch(api.endpoints.getFoo.initiate("a"));
    await flush();
    query.unsubscribe();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sockets.last().sentActions("unsubscribe")).toEqual([
      { action: "unsubscribe", request_id: "r2", object_type: "foo", id: "a" },
    ]);
  });
});

describe("liveList", () => {
  it("subscribes to the list with have from the loaded items and applies enter, update and leave", async () => {
    const { api, store, sockets, lists, list } = setup();
    lists.push(foo("b", 7, "Beta"), foo("a", 3, "Alpha"));
    store.dispatch(api.endpoints.listFoos.initiate({ search: "a" }));
    await flush();
    expect(sockets.last().sentActions("subscribe")).toEqual([
      { action: "subscribe", request_id: "r1", object_type: "foo", list: { search: "a" }, have: { a: 3, b: 7 } },
    ]);
    const frame = (id: string, seq: number, membership: string, name: string) => {
      const event = fooEvent(id, seq, { name });
      return {
        ...event,
        type: membership === "leave" ? "LEAVE_FOO" : "UPDATE_FOO",
        payload: membership === "leave" ? { id } : event.payload,
        meta: { ...event.meta, list: "foo?search=a", membership },
      };
    };
    sockets.last().receive({ type: "events", events: [frame("c", 2, "enter", "Aardvark")] });
    sockets.last().receive({ type: "subscribed", request_id: "r1", stream: "foo?search=a", list: true, members: 3 });
    sockets.last().receive(frame("b", 8, "update", "Abacus"));
    sockets.last().receive(frame("a", 4, "leave", ""));
    sockets.last().receive(frame("b", 8, "update", "stale duplicate"));
    const data = list({ search: "a" })!;
    expect(data.ids).toEqual(["c", "b"]);
    expect(data.entities.b).toEqual({ id: "b", name: "Abacus", stream: { name: "foo.b", seq: 8, epoch: "ep1" } });
  });
});

describe("set-up mistakes", () => {
  it("says how to pass the client when the store has none", () => {
    expect(() => clientOf(undefined)).toThrow(/thunk extra argument.*extraArgument: \{realtime: client\}/);
    expect(() => clientOf({ fetch })).toThrow(/RealtimeClient/);
    const client = new RealtimeClient({ url: "ws://test/", createSocket: mockSockets().createSocket });
    expect(clientOf({ realtime: client })).toBe(client);
  });
});
