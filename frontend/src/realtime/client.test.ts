/** RealtimeClient against a mock socket: subscribe, dedupe, gaps, reconnect and replay, reload, status. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { fooEvent, mockSockets } from "../test/mockSocket";
import { RealtimeClient, type ConnectionStatus, type Position, type Reload } from "./client";
import * as protocol from "./protocol";

const FOO = { objectType: "foo", id: "abc" };

function setup(reload: Reload = async () => ({ seq: 0, epoch: "ep1" })) {
  const factory = mockSockets();
  const client = new RealtimeClient({
    url: "ws://test/ws/notifications/",
    createSocket: factory.createSocket,
    reload,
    backoff: { random: () => 1 },
    pingIntervalMs: 0,
  });
  const applied: number[] = [];
  const statuses: ConnectionStatus[] = [];
  const ended: string[] = [];
  const duplicates: number[] = [];
  const gaps: number[] = [];
  const caughtUp: { replayed: number; reconnect: boolean }[] = [];
  client.addListener({
    onEvent: (frame) => applied.push(frame.meta.seq),
    onStatus: (status) => statuses.push(status),
    onEnded: ({ reason }) => ended.push(reason),
    onDuplicate: (frame) => duplicates.push(frame.meta.seq),
    onGap: ({ received }) => gaps.push(received),
    onCaughtUp: (info) => caughtUp.push(info),
  });
  return { client, factory, applied, statuses, ended, duplicates, gaps, caughtUp };
}

/** Answer the last subscribe request on `socket` with `subscribed`. */
function answer(socket: ReturnType<ReturnType<typeof mockSockets>["last"]>, fields: Record<string, unknown>) {
  const request = socket.sentActions("subscribe").at(-1)!;
  socket.receive({ type: "subscribed", request_id: request.request_id, stream: "foo.abc", epoch: "ep1", ...fields });
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("start-up", () => {
  it("refuses to subscribe to an object without a way to reload, saying how to fix it", () => {
    const client = new RealtimeClient({ url: "ws://test/", createSocket: mockSockets().createSocket });
    expect(() => client.subscribe(FOO, { seq: 1, epoch: "ep1" })).toThrow(/needs a `reload` option/);
    expect(() => client.subscribe(FOO, { seq: 1, epoch: "ep1" }, { reload: async () => null })).not.toThrow();
  });
});

describe("subscribing", () => {
  it("queues a subscribe made while offline and sends it with since/epoch and a request_id on connect", () => {
    const { client, factory } = setup();
    client.subscribe(FOO, { seq: 4, epoch: "ep1" });
    client.connect();
    expect(factory.last().sent).toEqual([]);
    factory.last().open();
    expect(factory.last().sent).toEqual([
      { action: "subscribe", request_id: "r1", object_type: "foo", id: "abc", since: 4, epoch: "ep1" },
    ]);
  });

  it("asks for the events-frames subprotocol when it opens the socket", () => {
    const { client, factory } = setup();
    client.connect();
    expect(factory.last().protocols).toEqual([protocol.SUBPROTOCOL_EVENTS]);
  });

  it("subscribes to the inbox without an id", () => {
    const { client, factory } = setup();
    client.connect();
    factory.last().open();
    client.subscribe({ objectType: protocol.INBOX }, { seq: 0, epoch: null });
    expect(factory.last().sent).toEqual([{ action: "subscribe", request_id: "r1", object_type: "inbox", since: 0 }]);
  });

  it("shows replaying until subscribed arrives, then live", () => {
    const { client, factory, statuses } = setup();
    client.subscribe(FOO, { seq: 1, epoch: "ep1" });
    client.connect();
    factory.last().open();
    expect(client.status).toBe("replaying");
    factory.last().receive(fooEvent("abc", 2));
    answer(factory.last(), { seq: 2, recovered: true, replayed: 1 });
    expect(statuses).toEqual(["connecting", "replaying", "live"]);
  });

  it("unsubscribes with a request and ignores the stream's later events", () => {
    const { client, factory, applied } = setup();
    client.subscribe(FOO, { seq: 1, epoch: "ep1" });
    client.connect();
    factory.last().open();
    answer(factory.last(), { seq: 1, recovered: true, replayed: 0 });
    client.unsubscribe(FOO);
    expect(factory.last().sentActions("unsubscribe")).toEqual([
      { action: "unsubscribe", request_id: "r2", object_type: "foo", id: "abc" },
    ]);
    factory.last().receive(fooEvent("abc", 2));
    expect(applied).toEqual([]);
  });
});

describe("applying events", () => {
  function live(seq = 1) {
    const context = setup();
    context.client.subscribe(FOO, { seq, epoch: "ep1" });
    context.client.connect();
    context.factory.last().open();
    answer(context.factory.last(), { seq, recovered: true, replayed: 0 });
    return context;
  }

  it("applies events in order and drops duplicates (seq <= last)", () => {
    const { factory, applied, duplicates } = live(1);
    for (const seq of [2, 3, 3, 2, 4]) factory.last().receive(fooEvent("abc", seq));
    expect(applied).toEqual([2, 3, 4]);
    expect(duplicates).toEqual([3, 2]);
  });

  it("treats seq > last + 1 as a gap and resubscribes from the last applied seq", () => {
    const { factory, applied, gaps } = live(1);
    factory.last().receive(fooEvent("abc", 2));
    factory.last().receive(fooEvent("abc", 5));
    expect(applied).toEqual([2]);
    expect(gaps).toEqual([5]);
    expect(factory.last().sentActions("subscribe").at(-1)).toMatchObject({ since: 2, epoch: "ep1" });
    // The replay fills the gap; the live copy of 5 that follows is a duplicate.
    for (const seq of [3, 4, 5]) factory.last().receive(fooEvent("abc", seq));
    answer(factory.last(), { seq: 5, recovered: true, replayed: 3 });
    factory.last().receive(fooEvent("abc", 5));
    expect(applied).toEqual([2, 3, 4, 5]);
  });

  it("treats seq == last + 2 as a gap too: one missing event is not contiguous", () => {
    const { factory, applied, gaps } = live(1);
    factory.last().receive(fooEvent("abc", 2));
    factory.last().receive(fooEvent("abc", 4));
    expect(applied).toEqual([2]);
    expect(gaps).toEqual([4]);
    expect(factory.last().sentActions("subscribe").at(-1)).toMatchObject({ since: 2, epoch: "ep1" });
  });

  it("treats an event from another epoch as lost position and resubscribes", () => {
    const { factory, applied } = live(3);
    factory.last().receive(fooEvent("abc", 4, {}, "ep2"));
    expect(applied).toEqual([]);
    expect(factory.last().sentActions("subscribe").at(-1)).toMatchObject({ since: 3, epoch: "ep1" });
  });

  it("resubscribes when subscribed announces a head beyond what was replayed", () => {
    const { client, factory } = setup();
    client.subscribe(FOO, { seq: 1, epoch: "ep1" });
    client.connect();
    factory.last().open();
    answer(factory.last(), { seq: 3, recovered: true, replayed: 2 });
    expect(factory.last().sentActions("subscribe")).toHaveLength(2);
    expect(client.status).toBe("replaying");
  });
});

describe("reconnecting", () => {
  it("reconnects with backoff and resubscribes from the last applied event", () => {
    const { client, factory, applied, statuses, caughtUp } = setup();
    client.subscribe(FOO, { seq: 1, epoch: "ep1" });
    client.connect();
    factory.last().open();
    answer(factory.last(), { seq: 1, recovered: true, replayed: 0 });
    factory.last().receive(fooEvent("abc", 2));
    factory.last().drop();
    expect(client.status).toBe("reconnecting");
    vi.advanceTimersByTime(249);
    expect(factory.sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(factory.sockets).toHaveLength(2);
    factory.last().open();
    expect(factory.last().sent).toEqual([
      { action: "subscribe", request_id: "r2", object_type: "foo", id: "abc", since: 2, epoch: "ep1" },
    ]);
    for (const seq of [3, 4]) factory.last().receive(fooEvent("abc", seq));
    answer(factory.last(), { seq: 4, recovered: true, replayed: 2 });
    expect(applied).toEqual([2, 3, 4]);
    expect(statuses).toEqual(["connecting", "replaying", "live", "reconnecting", "replaying", "live"]);
    expect(caughtUp.at(-1)).toMatchObject({ reconnect: true, replayed: 2 });
  });

  it("backs off exponentially while the server stays down, and resets after a stable connection", () => {
    const { client, factory } = setup();
    client.connect();
    const delays: number[] = [];
    let elapsed = 0;
    for (let attempt = 0; attempt < 8; attempt++) {
      factory.last().drop();
      const before = factory.sockets.length;
      while (factory.sockets.length === before) {
        vi.advanceTimersByTime(50);
        elapsed += 50;
      }
      delays.push(elapsed);
      elapsed = 0;
    }
    expect(delays).toEqual([250, 1000, 2000, 4000, 8000, 16000, 20000, 20000]);
    factory.last().open();
    vi.advanceTimersByTime(5_000);
    factory.last().drop();
    vi.advanceTimersByTime(250);
    expect(factory.sockets).toHaveLength(10);
  });

  it("does not reset the backoff when the connection drops before it is stable", () => {
    const { client, factory } = setup();
    client.connect();
    factory.last().drop();
    vi.advanceTimersByTime(250);
    factory.last().open();
    vi.advanceTimersByTime(1_000);
    factory.last().drop();
    vi.advanceTimersByTime(999);
    expect(factory.sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(factory.sockets).toHaveLength(3);
  });

  it("stops on close codes 4401 and 4403 instead of retrying", () => {
    const { client, factory } = setup();
    client.connect();
    factory.last().open();
    factory.last().drop(protocol.CLOSE_NOT_AUTHENTICATED);
    vi.advanceTimersByTime(60_000);
    expect(factory.sockets).toHaveLength(1);
    expect(client.status).toBe("closed");
    expect(client.closeCode).toBe(4401);
  });

  it("declares a silent connection dead after a ping goes unanswered and reconnects", () => {
    const factory = mockSockets();
    const client = new RealtimeClient({
      url: "ws://test/",
      createSocket: factory.createSocket,
      reload: async () => null,
      pingIntervalMs: 1_000,
      backoff: { random: () => 0 },
    });
    client.connect();
    factory.last().open();
    vi.advanceTimersByTime(1_000);
    expect(factory.last().sentActions("ping")).toHaveLength(1);
    vi.advanceTimersByTime(1_000);
    expect(factory.last().closedWith).toBe(4000);
    expect(client.status).toBe("reconnecting");
    vi.advanceTimersByTime(500);
    expect(factory.sockets).toHaveLength(2);
  });

  it("gives up a handshake that hangs past connectTimeoutMs and retries with backoff", () => {
    const { client, factory, statuses } = setup();
    client.connect();
    vi.advanceTimersByTime(9_999);
    expect(factory.last().closedWith).toBeNull();
    vi.advanceTimersByTime(1);
    expect(factory.sockets[0].closedWith).toBe(4000);
    expect(statuses.at(-1)).toBe("reconnecting");
    vi.advanceTimersByTime(500);
    expect(factory.sockets).toHaveLength(2);
    factory.last().open();
    vi.advanceTimersByTime(60_000);
    expect(factory.sockets).toHaveLength(2);
    expect(factory.last().closedWith).toBeNull();
    expect(client.status).toBe("live");
  });
});

describe("recovered: false", () => {
  it("reloads over REST and continues from the REST position, dropping held events at or below it", async () => {
    const positions: Position[] = [{ seq: 10, epoch: "ep2" }];
    const reload = vi.fn(async () => positions[0]);
    const { client, factory, applied, caughtUp } = setup(reload);
    client.subscribe(FOO, { seq: 2, epoch: "ep1" });
    client.connect();
    factory.last().open();
    answer(factory.last(), { epoch: "ep2", seq: 9, recovered: false, replayed: 0 });
    expect(reload).toHaveBeenCalledWith(FOO);
    expect(client.status).toBe("replaying");
    // Live events that arrive while the REST request runs are held.
    for (const seq of [10, 11]) factory.last().receive(fooEvent("abc", seq, {}, "ep2"));
    await vi.runAllTimersAsync();
    expect(applied).toEqual([11]);
    expect(client.position(FOO)).toEqual({ seq: 11, epoch: "ep2" });
    expect(client.status).toBe("live");
    expect(caughtUp.at(-1)).toMatchObject({ reloaded: 1, replayed: 0 });
  });

  it("subscribes without since when it has no position, then reloads", async () => {
    const reload = vi.fn(async () => ({ seq: 3, epoch: "ep1" }));
    const { client, factory } = setup(reload);
    client.connect();
    factory.last().open();
    client.subscribe(FOO);
    expect(factory.last().sent[0]).toEqual({ action: "subscribe", request_id: "r1", object_type: "foo", id: "abc" });
    answer(factory.last(), { seq: 3, recovered: false, replayed: 0 });
    await vi.runAllTimersAsync();
    expect(client.position(FOO)).toEqual({ seq: 3, epoch: "ep1" });
  });

  it("ends the subscription when the reload finds the object gone", async () => {
    const { client, factory, ended } = setup(async () => null);
    client.subscribe(FOO, { seq: 2, epoch: "ep1" });
    client.connect();
    factory.last().open();
    answer(factory.last(), { seq: 9, recovered: false, replayed: 0 });
    await vi.runAllTimersAsync();
    expect(ended).toEqual(["not_found"]);
    expect(client.subscribed()).toEqual([]);
  });

  it("retries the subscribe when the REST reload fails", async () => {
    let calls = 0;
    const reload = async () => {
      calls += 1;
      if (calls === 1) throw new Error("503");
      return { seq: 9, epoch: "ep1" };
    };
    const { client, factory } = setup(reload);
    client.subscribe(FOO, { seq: 2, epoch: "old" });
    client.connect();
    factory.last().open();
    answer(factory.last(), { seq: 9, recovered: false, replayed: 0 });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(factory.last().sentActions("subscribe")).toHaveLength(2);
    answer(factory.last(), { seq: 9, recovered: false, replayed: 0 });
    await vi.runAllTimersAsync();
    expect(client.position(FOO)).toEqual({ seq: 9, epoch: "ep1" });
  });
});

describe("subscriptions ended by the server", () => {
  it.each(["deleted", "revoked"])("drops the subscription on unsubscribed with reason %s", (reason) => {
    const { client, factory, ended } = setup();
    client.subscribe(FOO, { seq: 1, epoch: "ep1" });
    client.connect();
    factory.last().open();
    answer(factory.last(), { seq: 1, recovered: true, replayed: 0 });
    factory.last().receive({ type: "unsubscribed", stream: "foo.abc", reason });
    expect(ended).toEqual([reason]);
    expect(client.subscribed()).toEqual([]);
  });

  it("names the stream of an ended subscription once the server has named it", () => {
    const { client, factory } = setup();
    const streams: (string | null)[] = [];
    client.addListener({ onEnded: ({ stream }) => streams.push(stream) });
    client.subscribe({ objectType: protocol.INBOX }, { seq: 1, epoch: "in1" });
    client.subscribe(FOO, { seq: 1, epoch: "ep1" });
    client.connect();
    factory.last().open();
    const [batch] = factory.last().sentActions("subscribe");
    factory.last().receive({
      type: "subscribed",
      request_id: batch.request_id,
      results: [
        { stream: "user.u2", epoch: "in1", seq: 1, recovered: true, replayed: 0 },
        { error: { code: "not_found", message: "No." } },
      ],
    });
    factory.last().receive({ type: "unsubscribed", stream: "user.u2", reason: "revoked" });
    expect(streams).toEqual([null, "user.u2"]);
  });

  it("ends a subscribe answered with not_found (deleted or unshared while offline)", () => {
    const { client, factory, ended, caughtUp } = setup();
    client.subscribe(FOO, { seq: 1, epoch: "ep1" });
    client.connect();
    factory.last().open();
    factory.last().receive({ type: "error", request_id: "r1", code: "not_found", message: "No such object." });
    expect(ended).toEqual(["not_found"]);
    expect(client.status).toBe("live");
    expect(caughtUp).toHaveLength(1);
  });

  it("retries a subscribe refused with rate_limited", () => {
    const { client, factory, ended } = setup();
    client.subscribe(FOO, { seq: 1, epoch: "ep1" });
    client.connect();
    factory.last().open();
    factory.last().receive({ type: "error", request_id: "r1", code: "rate_limited", message: "Slow down." });
    vi.advanceTimersByTime(2_000);
    expect(factory.last().sentActions("subscribe")).toHaveLength(2);
    expect(ended).toEqual([]);
  });
});

describe("batch resubscribe", () => {
  /** Three Foos and the inbox, live on the first socket, then the connection drops and comes back. */
  function reconnected(options: Partial<ConstructorParameters<typeof RealtimeClient>[0]> = {}) {
    const factory = mockSockets();
    const client = new RealtimeClient({
      url: "ws://test/",
      createSocket: factory.createSocket,
      reload: async () => ({ seq: 50, epoch: "ep1" }),
      backoff: { random: () => 0 },
      pingIntervalMs: 0,
      ...options,
    });
    const applied: string[] = [];
    client.addListener({ onEvent: (frame, key) => applied.push(`${key}@${frame.meta.seq}`) });
    client.connect();
    factory.last().open();
    for (const [id, seq] of [
      ["a", 1],
      ["b", 5],
      ["c", 9],
    ] as const) {
      client.subscribe({ objectType: "foo", id }, { seq, epoch: "ep1" });
    }
    client.subscribe({ objectType: protocol.INBOX }, { seq: 2, epoch: "in1" });
    factory.last().drop();
    vi.advanceTimersByTime(0);
    factory.last().open();
    return { client, factory, applied };
  }

  it("resubscribes everything in one subscribe with streams after a reconnect", () => {
    const { factory } = reconnected();
    expect(factory.last().sent).toEqual([
      {
        action: "subscribe",
        request_id: "r5",
        streams: [
          { object_type: "foo", id: "a", since: 1, epoch: "ep1" },
          { object_type: "foo", id: "b", since: 5, epoch: "ep1" },
          { object_type: "foo", id: "c", since: 9, epoch: "ep1" },
          { object_type: "inbox", since: 2, epoch: "in1" },
        ],
      },
    ]);
  });

  it("applies each result of the batch in order: replayed, reloaded, failed", async () => {
    const { client, factory, applied } = reconnected();
    const ended: string[] = [];
    client.addListener({ onEnded: ({ key, reason }) => ended.push(`${key}:${reason}`) });
    factory.last().receive({ type: "events", events: [fooEvent("a", 2), fooEvent("a", 3)] });
    factory.last().receive({
      type: "subscribed",
      request_id: "r5",
      results: [
        { stream: "foo.a", epoch: "ep1", seq: 3, recovered: true, replayed: 2 },
        { stream: "foo.b", epoch: "ep1", seq: 50, recovered: false, replayed: 0, reason: "pruned" },
        { error: { code: "not_found", message: "No such object, or you may not see it." } },
        { stream: "user.u2", epoch: "in1", seq: 2, recovered: true, replayed: 0 },
      ],
    });
    await vi.runAllTimersAsync();
    expect(applied).toEqual(["foo.a@2", "foo.a@3"]);
    expect(client.position({ objectType: "foo", id: "b" })).toEqual({ seq: 50, epoch: "ep1" });
    expect(ended).toEqual(["foo.c:not_found"]);
    expect(client.status).toBe("live");
  });

  it("chunks the batch at batchSize entries", () => {
    const { factory } = reconnected({ batchSize: 3 });
    const sent = factory.last().sentActions("subscribe");
    expect(sent).toHaveLength(2);
    expect((sent[0].streams as unknown[]).length).toBe(3);
    // A chunk of one is a plain subscribe.
    expect(sent[1]).toEqual({ action: "subscribe", request_id: "r6", object_type: "inbox", since: 2, epoch: "in1" });
  });

  it("chunks the batch so that no frame is larger than maxFrameBytes", () => {
    const { factory } = reconnected({ maxFrameBytes: 200 });
    const sent = factory.last().sent.map((message) => JSON.stringify(message).length);
    expect(sent.length).toBeGreaterThan(1);
    for (const bytes of sent) expect(bytes).toBeLessThanOrEqual(200);
  });

  it("falls back to one subscribe per stream when the server refuses the batch form", () => {
    const { factory } = reconnected();
    factory.last().receive({ type: "error", request_id: "r5", code: "invalid", message: "The message is not valid." });
    const singles = factory.last().sentActions("subscribe").slice(1);
    expect(singles.map((message) => [message.object_type, message.id, message.since])).toEqual([
      ["foo", "a", 1],
      ["foo", "b", 5],
      ["foo", "c", 9],
      ["inbox", undefined, 2],
    ]);
  });

  it("retries the whole batch's streams later when the batch is rate_limited", () => {
    const { factory } = reconnected();
    factory.last().receive({ type: "error", request_id: "r5", code: "rate_limited", message: "Slow down." });
    expect(factory.last().sentActions("subscribe")).toHaveLength(1);
    vi.advanceTimersByTime(2_000);
    expect(factory.last().sentActions("subscribe")).toHaveLength(5);
  });
});

describe("events frames", () => {
  it("applies every event of an events frame in order, dropping duplicates and holding to gaps", () => {
    const { client, factory, applied, duplicates, gaps } = setup();
    client.subscribe(FOO, { seq: 2, epoch: "ep1" });
    client.connect();
    factory.last().open();
    factory.last().receive({ type: "events", events: [fooEvent("abc", 2), fooEvent("abc", 3), fooEvent("abc", 4)] });
    answer(factory.last(), { seq: 4, recovered: true, replayed: 2 });
    factory.last().receive({ type: "events", events: [fooEvent("abc", 6)] });
    expect(applied).toEqual([3, 4]);
    expect(duplicates).toEqual([2]);
    expect(gaps).toEqual([6]);
  });

  it("ignores an events frame whose events are not a list", () => {
    const { client, factory, applied } = setup();
    client.subscribe(FOO, { seq: 1, epoch: "ep1" });
    client.connect();
    factory.last().open();
    factory.last().receive({ type: "events", events: "nope" });
    factory.last().receive(fooEvent("abc", 2));
    expect(applied).toEqual([2]);
  });
});

describe("live lists", () => {
  const LIST = { objectType: "foo", list: { search: "plans", limit: "50", ordering: "-updated_at" } };
  const NAME = "foo?ordering=-updated_at&search=plans";

  function listEvent(id: string, seq: number, membership: string, list = NAME) {
    const frame = fooEvent(id, seq);
    const type = membership === "leave" ? "LEAVE_FOO" : "UPDATE_FOO";
    return { ...frame, type, meta: { ...frame.meta, list, membership } };
  }

  function live() {
    const context = setup();
    const events: string[] = [];
    context.client.connect();
    context.factory.last().open();
    context.client.subscribeList(
      LIST,
      { a: { seq: 3, epoch: "ep1" }, b: { seq: 7, epoch: "ep1" } },
      { onEvent: (frame) => events.push(`${frame.meta.membership}:${frame.meta.id}@${frame.meta.seq}`) },
    );
    return { ...context, events };
  }

  it("names a list as the server does: sorted parameters, page parameters left out", () => {
    expect(protocol.listName("foo", LIST.list)).toBe(NAME);
    expect(protocol.listName("foo", {})).toBe("foo?");
    expect(protocol.listName("foo", { tag: ["b", "a"], q: "x y" })).toBe("foo?q=x+y&tag=b&tag=a");
  });

  it("subscribes with list and have, and applies enter, update and leave once each", () => {
    const { factory, events, duplicates, client } = live();
    expect(factory.last().sent).toEqual([
      { action: "subscribe", request_id: "r1", object_type: "foo", list: LIST.list, have: { a: 3, b: 7 } },
    ]);
    factory.last().receive({
      type: "events",
      events: [listEvent("c", 2, "enter"), listEvent("a", 4, "update"), listEvent("b", 8, "leave")],
    });
    factory.last().receive({ type: "subscribed", request_id: "r1", stream: NAME, list: true, members: 2, replayed: 3 });
    expect(client.status).toBe("live");
    factory.last().receive(listEvent("a", 4, "update")); // a duplicate
    factory.last().receive(listEvent("b", 9, "leave")); // already gone
    factory.last().receive(listEvent("c", 3, "update"));
    expect(events).toEqual(["enter:c@2", "update:a@4", "leave:b@8", "update:c@3"]);
    expect(duplicates).toEqual([4, 9]);
    expect(client.members(LIST)).toEqual({ a: { seq: 4, epoch: "ep1" }, c: { seq: 3, epoch: "ep1" } });
  });

  it("keeps list frames and the object's own subscription apart", () => {
    const { client, factory, events, applied } = live();
    client.subscribe({ objectType: "foo", id: "a" }, { seq: 3, epoch: "ep1" });
    factory.last().receive(listEvent("a", 4, "update"));
    factory.last().receive(fooEvent("a", 4));
    expect(events).toEqual(["update:a@4"]);
    expect(applied).toEqual([4, 4]); // once for the list, once for the object
  });

  it("resubscribes after a reconnect with have set to what it holds now", () => {
    const { factory } = live();
    factory.last().receive(listEvent("c", 2, "enter"));
    factory.last().receive(listEvent("b", 8, "leave"));
    factory.last().drop();
    vi.advanceTimersByTime(250);
    factory.last().open();
    expect(factory.last().sentActions("subscribe")).toEqual([
      { action: "subscribe", request_id: "r2", object_type: "foo", list: LIST.list, have: { a: 3, c: 2 } },
    ]);
  });

  it("routes frames by the server's name for the list when it spells it otherwise", () => {
    const { factory, events } = live();
    factory.last().receive(listEvent("c", 2, "enter", "foo?search=plans&ordering=-updated_at"));
    factory.last().receive({
      type: "subscribed",
      request_id: "r1",
      stream: "foo?search=plans&ordering=-updated_at",
      list: true,
      members: 3,
      replayed: 1,
    });
    factory.last().receive(listEvent("c", 3, "update", "foo?search=plans&ordering=-updated_at"));
    expect(events).toEqual(["enter:c@2", "update:c@3"]);
  });

  it("unsubscribes a list by its parameters when the last holder releases it", () => {
    const context = setup();
    context.client.connect();
    context.factory.last().open();
    const first = context.client.subscribeList(LIST, {});
    const second = context.client.subscribeList(LIST, {});
    first();
    expect(context.factory.last().sentActions("unsubscribe")).toEqual([]);
    second();
    expect(context.factory.last().sentActions("unsubscribe")).toEqual([
      { action: "unsubscribe", request_id: "r2", object_type: "foo", list: LIST.list },
    ]);
  });
});

describe("close codes and the restart hint", () => {
  function connected(random = 0.5) {
    const factory = mockSockets();
    const closes: { code: number; delayMs: number | null; restart: boolean }[] = [];
    const client = new RealtimeClient({
      url: "ws://test/",
      createSocket: factory.createSocket,
      reload: async () => null,
      backoff: { random: () => random },
      pingIntervalMs: 0,
    });
    client.addListener({ onClosed: (info) => closes.push(info) });
    client.connect();
    factory.last().open();
    return { client, factory, closes };
  }

  /** Milliseconds until the client opens its next socket. */
  function waitForNextSocket(factory: ReturnType<typeof mockSockets>): number {
    const before = factory.sockets.length;
    let elapsed = 0;
    while (factory.sockets.length === before && elapsed < 120_000) {
      vi.advanceTimersByTime(10);
      elapsed += 10;
    }
    return elapsed;
  }

  it("honours a reconnect frame: after_ms plus a random share of spread_ms, then 4503", () => {
    const { factory, closes } = connected(0.5);
    factory.last().receive({ type: "reconnect", after_ms: 1_000, spread_ms: 3_000 });
    factory.last().drop(protocol.CLOSE_TRY_AGAIN);
    expect(closes).toEqual([{ code: 4503, delayMs: 2_500, restart: true }]);
    expect(waitForNextSocket(factory)).toBe(2_500);
  });

  it("spreads clients over the hint's window by their random draw", () => {
    const delays = [0, 0.25, 0.99].map((random) => {
      const { factory, closes } = connected(random);
      factory.last().receive({ type: "reconnect", after_ms: 250, spread_ms: 3_000 });
      factory.last().drop(protocol.CLOSE_TRY_AGAIN);
      return closes[0].delayMs;
    });
    expect(delays).toEqual([250, 1000, 3220]);
  });

  it("backs off after a hinted reconnect that finds the server not back yet (no second quick retry)", () => {
    const { factory } = connected(1);
    factory.last().receive({ type: "reconnect", after_ms: 100, spread_ms: 0 });
    factory.last().drop(protocol.CLOSE_TRY_AGAIN);
    expect(waitForNextSocket(factory)).toBe(100);
    factory.last().drop(1006);
    expect(waitForNextSocket(factory)).toBe(1_000);
  });

  it("keeps retries under restartMaxMs while an announced restart takes longer, and not after", () => {
    const { factory } = connected(1);
    factory.last().receive({ type: "reconnect", after_ms: 0, spread_ms: 0 });
    factory.last().drop(protocol.CLOSE_TRY_AGAIN);
    const waits = [waitForNextSocket(factory)];
    for (let attempt = 0; attempt < 5; attempt++) {
      factory.last().drop(1006);
      waits.push(waitForNextSocket(factory));
    }
    expect(waits).toEqual([10, 1_000, 2_000, 4_000, 5_000, 5_000]);
    factory.last().open();
    factory.last().drop(1006); // the restart is over: the ordinary ladder again (not reset: it was not stable)
    expect(waitForNextSocket(factory)).toBe(20_000);
  });

  it("retries quickly after 4503 without a hint and after a dropped connection", () => {
    for (const code of [protocol.CLOSE_TRY_AGAIN, 1006, protocol.CLOSE_TOO_SLOW]) {
      const { factory } = connected(1);
      factory.last().drop(code);
      expect(waitForNextSocket(factory)).toBe(250);
    }
  });

  it("skips the quick retry after 4500 (a server bug may recur)", () => {
    const { factory } = connected(1);
    factory.last().drop(protocol.CLOSE_SERVER_ERROR);
    expect(waitForNextSocket(factory)).toBe(1_000);
  });

  it("waits about the longest backoff after 4429 (too many sockets)", () => {
    const { factory, closes } = connected(0.5);
    factory.last().drop(protocol.CLOSE_TOO_MANY_SOCKETS);
    expect(closes[0].delayMs).toBe(15_000);
    expect(waitForNextSocket(factory)).toBe(15_000);
  });

  it("reports 4413 (a frame too large: a client bug) and waits long before retrying", () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const { factory, closes } = connected(0);
    factory.last().drop(protocol.CLOSE_MESSAGE_TOO_BIG);
    expect(error).toHaveBeenCalledWith(expect.stringMatching(/4413.*maxFrameBytes/));
    expect(closes[0].delayMs).toBe(10_000);
    error.mockRestore();
  });

  it("does not retry after 4401 or 4403, and says so", () => {
    for (const code of [protocol.CLOSE_NOT_AUTHENTICATED, protocol.CLOSE_FORBIDDEN]) {
      const { client, factory, closes } = connected();
      factory.last().drop(code);
      expect(closes).toEqual([{ code, delayMs: null, restart: false }]);
      vi.advanceTimersByTime(120_000);
      expect(factory.sockets).toHaveLength(1);
      expect(client.status).toBe("closed");
    }
  });

  it("forgets a restart hint once a new connection opened", () => {
    const { factory } = connected(1);
    factory.last().receive({ type: "reconnect", after_ms: 5_000, spread_ms: 0 });
    factory.last().drop(protocol.CLOSE_TRY_AGAIN);
    expect(waitForNextSocket(factory)).toBe(5_000);
    factory.last().open();
    vi.advanceTimersByTime(5_000);
    factory.last().drop(1006);
    expect(waitForNextSocket(factory)).toBe(250);
  });
});

describe("shared subscriptions", () => {
  it("calls every holder's handlers and unsubscribes when the last one releases", () => {
    const { client, factory } = setup();
    client.connect();
    factory.last().open();
    const seen: string[] = [];
    const releaseA = client.subscribe(FOO, { seq: 1, epoch: "ep1" }, { onEvent: () => seen.push("a") });
    const releaseB = client.subscribe(FOO, { seq: 1, epoch: "ep1" }, { onEvent: () => seen.push("b") });
    answer(factory.last(), { seq: 1, recovered: true, replayed: 0 });
    factory.last().receive(fooEvent("abc", 2));
    releaseA();
    factory.last().receive(fooEvent("abc", 3));
    expect(seen).toEqual(["a", "b", "b"]);
    expect(factory.last().sentActions("unsubscribe")).toEqual([]);
    releaseB();
    expect(factory.last().sentActions("unsubscribe")).toHaveLength(1);
  });

  it("uses a subscription's own reload over the client's", async () => {
    const { client, factory } = setup(async () => ({ seq: 1, epoch: "global" }));
    const own = vi.fn(async () => ({ seq: 30, epoch: "own" }));
    client.subscribe(FOO, null, { reload: own });
    client.connect();
    factory.last().open();
    answer(factory.last(), { seq: 30, recovered: false, replayed: 0 });
    await vi.runAllTimersAsync();
    expect(own).toHaveBeenCalledWith(FOO);
    expect(client.position(FOO)).toEqual({ seq: 30, epoch: "own" });
  });
});
