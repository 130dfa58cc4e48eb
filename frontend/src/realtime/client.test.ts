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
  it("refuses to connect without a way to reload, saying how to fix it", () => {
    const client = new RealtimeClient({ url: "ws://test/", createSocket: mockSockets().createSocket });
    expect(() => client.connect()).toThrow(/needs a `reload` option/);
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
    vi.advanceTimersByTime(499);
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
        vi.advanceTimersByTime(100);
        elapsed += 100;
      }
      delays.push(elapsed);
      elapsed = 0;
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, 20000, 20000]);
    factory.last().open();
    vi.advanceTimersByTime(5_000);
    factory.last().drop();
    vi.advanceTimersByTime(500);
    expect(factory.sockets).toHaveLength(10);
  });

  it("does not reset the backoff when the connection drops before it is stable", () => {
    const { client, factory } = setup();
    client.connect();
    factory.last().drop();
    vi.advanceTimersByTime(500);
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
    const [inbox, foo] = factory.last().sentActions("subscribe");
    factory.last().receive({
      type: "subscribed",
      request_id: inbox.request_id,
      stream: "user.u2",
      epoch: "in1",
      seq: 1,
      recovered: true,
      replayed: 0,
    });
    factory.last().receive({ type: "error", request_id: foo.request_id, code: "not_found", message: "No." });
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
