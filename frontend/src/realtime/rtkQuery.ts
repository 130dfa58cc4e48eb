/**
 * RTK Query streaming updates with `RealtimeClient`: cache entries that stay live.
 *
 * RTK Query's documented way to keep data live is `onCacheEntryAdded` with
 * `updateCachedData`; these helpers write that function for the three shapes
 * a REST API of live objects has:
 *
 * - `liveDetail`: one object (`GET /api/foo/<id>`). Subscribed from the
 *   response's `stream.seq`/`stream.epoch`, so nothing between the load and
 *   the subscribe is lost; events newer than the cached state replace it; a
 *   `recovered: false` refetches it (`load`) and continues from the refetched
 *   position; `deleted`/`revoked` (or `not_found` on a resubscribe) keep the
 *   last state and mark the entry `gone`, with the reason.
 * - `liveList`: a list endpoint with its query parameters, kept live by a live
 *   list subscription (`list` + `have`): objects enter, change and leave the
 *   cached list as they start or stop matching for this user.
 * - `liveStream`: any stream with a position and your own reducer (the inbox).
 *
 * The client comes from the store's thunk extra argument (`{realtime: client}`,
 * see `RealtimeExtra`). `realtimeSlice` holds the connection status and
 * catch-up figures for components; `bindRealtime()` feeds it. No React in here.
 */
import { createSlice, type Dispatch, type PayloadAction } from "@reduxjs/toolkit";

import type { CaughtUpInfo, ConnectionStatus, EndReason, Position, RealtimeClient, Target } from "./client";
import * as protocol from "./protocol";
import type { EventFrame, ListParams } from "./protocol";

/** Put the client in the store's thunk extra argument: `getDefaultMiddleware({thunk: {extraArgument: {realtime}}})`. */
export interface RealtimeExtra {
  realtime: RealtimeClient;
}

/** The position a REST representation carries (`"stream": {"name", "seq", "epoch"}`). */
export interface StreamField {
  name: string;
  seq: number;
  epoch: string | null;
}

/** A REST object of a live model: an `id`, and the position of its stream. */
export interface LiveItem {
  id: string;
  stream: StreamField;
}

/** Why a cached object is no longer live: deleted, no longer visible to you (`revoked`), or not found on resubscribe. */
export interface Gone {
  reason: EndReason;
}

/** A live detail entry: the object's latest state, and `gone` once it was deleted or hidden from you. */
export interface LiveEntry<T extends LiveItem> {
  item: T;
  gone: Gone | null;
}

/** A live list entry: the objects by id, in `ids` order. */
export interface LiveList<T extends LiveItem> {
  ids: string[];
  entities: Record<string, T>;
}

/** What `onCacheEntryAdded` is handed, as far as these helpers use it. */
export interface CacheLifecycle<Data> {
  extra: unknown;
  cacheDataLoaded: Promise<{ data: Data }>;
  cacheEntryRemoved: Promise<void>;
  updateCachedData(recipe: (draft: Data) => void): unknown;
}

export type OnCacheEntryAdded<Arg, Data> = (arg: Arg, lifecycle: CacheLifecycle<Data>) => Promise<void>;

/** The client in a store's thunk extra argument; throws, saying how to pass it, when there is none. */
export function clientOf(extra: unknown): RealtimeClient {
  const client = (extra as Partial<RealtimeExtra> | undefined)?.realtime;
  if (!client) {
    throw new Error(
      "Live RTK Query endpoints need the RealtimeClient in the store's thunk extra argument: " +
        "configureStore({middleware: (d) => d({thunk: {extraArgument: {realtime: client}}}).concat(api.middleware)}).",
    );
  }
  return client;
}

function positionOf(stream: StreamField): Position {
  return { seq: stream.seq, epoch: stream.epoch };
}

/** The object an event frame carries, as REST shows it (its `stream` rebuilt from `meta`). */
export function itemOf<T extends LiveItem>(frame: EventFrame): T {
  const { stream, seq, epoch } = frame.meta;
  return { ...(frame.payload as object), stream: { name: stream, seq, epoch } } as T;
}

/** True when the state at `position` is newer than the one `than` describes (another epoch counts as newer). */
export function isAhead(position: Position, than: Position): boolean {
  return position.epoch !== than.epoch || position.seq > than.seq;
}

/** True when `frame` is newer than the state `stream` describes. */
export function isNewer(frame: EventFrame, stream: StreamField): boolean {
  return isAhead(frame.meta, stream);
}

function isDelete(frame: EventFrame): boolean {
  return frame.type.startsWith(`${protocol.DELETE}_`);
}

/** `transformResponse` for a live detail endpoint: wrap the object as a `LiveEntry`. */
export function liveEntry<T extends LiveItem>(item: T): LiveEntry<T> {
  return { item, gone: null };
}

/** Build a `LiveList` from a list response's items, kept in `compare` order (else the response's). */
export function liveListOf<T extends LiveItem>(items: T[], compare?: (a: T, b: T) => number): LiveList<T> {
  const sorted = compare ? [...items].sort(compare) : items;
  return { ids: sorted.map((item) => item.id), entities: Object.fromEntries(sorted.map((item) => [item.id, item])) };
}

/** Apply one frame to a live detail entry (exported for tests and custom endpoints). */
export function applyToEntry<T extends LiveItem>(entry: LiveEntry<T>, frame: EventFrame): void {
  if (entry.gone) return;
  if (isDelete(frame)) {
    entry.gone = { reason: protocol.REASON_DELETED };
    return;
  }
  if (isNewer(frame, entry.item.stream)) entry.item = itemOf<T>(frame);
}

/** Apply one live list frame (`meta.membership` enter/update/leave) to a cached list. */
export function applyToList<T extends LiveItem>(
  list: LiveList<T>,
  frame: EventFrame,
  compare?: (a: T, b: T) => number,
): void {
  const id = frame.meta.id;
  if (id === null) return;
  const present = id in list.entities;
  if (frame.meta.membership === protocol.MEMBERSHIP_LEAVE || isDelete(frame)) {
    if (!present) return;
    delete list.entities[id];
    list.ids = list.ids.filter((other) => other !== id);
    return;
  }
  if (present && !isNewer(frame, list.entities[id].stream)) return;
  list.entities[id] = itemOf<T>(frame);
  if (!present) list.ids.push(id);
  if (compare) list.ids.sort((a, b) => compare(list.entities[a], list.entities[b]));
}

/**
 * `onCacheEntryAdded` for any stream with a position: subscribe once the
 * data is loaded, apply each event with `apply`, refetch with `load` when the
 * server cannot replay (`null`: gone), mark endings with `ended`.
 */
export function liveStream<Arg, Data>({
  target,
  position,
  apply,
  load,
  ended,
}: {
  target: (arg: Arg, data: Data) => Target;
  position: (data: Data) => Position | null;
  apply: (draft: Data, frame: EventFrame) => void;
  /** Fetch the data again (the REST request of the endpoint; `extra` is the store's); `null` when it is gone. */
  load: (arg: Arg, extra: unknown) => Promise<Data | null>;
  ended?: (draft: Data, reason: EndReason) => void;
}): OnCacheEntryAdded<Arg, Data> {
  return async (arg, { extra, cacheDataLoaded, cacheEntryRemoved, updateCachedData }) => {
    let data: Data;
    try {
      ({ data } = await cacheDataLoaded);
    } catch {
      return; // the entry went away before it loaded
    }
    const client = clientOf(extra);
    const release = client.subscribe(target(arg, data), position(data), {
      onEvent: (frame) => updateCachedData((draft) => apply(draft, frame)),
      onEnded: ({ reason }) => {
        if (ended) updateCachedData((draft) => ended(draft, reason));
      },
      reload: async () => {
        const fresh = await load(arg, extra);
        if (fresh === null) return null;
        updateCachedData(() => fresh as never);
        return position(fresh);
      },
    });
    await cacheEntryRemoved;
    release();
  };
}

/**
 * `onCacheEntryAdded` for a detail endpoint whose data is a `LiveEntry`
 * (`transformResponse: liveEntry`); `load` fetches the object again (`null` on 404).
 */
export function liveDetail<Arg, T extends LiveItem>({
  objectType,
  id = (arg) => String(arg),
  load,
}: {
  objectType: string;
  id?: (arg: Arg) => string;
  load: (arg: Arg, extra: unknown) => Promise<T | null>;
}): OnCacheEntryAdded<Arg, LiveEntry<T>> {
  return liveStream<Arg, LiveEntry<T>>({
    target: (arg) => ({ objectType, id: id(arg) }),
    position: (entry) => positionOf(entry.item.stream),
    apply: applyToEntry,
    load: async (arg, extra) => {
      const item = await load(arg, extra);
      return item === null ? null : liveEntry(item);
    },
    ended: (draft, reason) => {
      draft.gone ??= { reason };
    },
  });
}

/**
 * `onCacheEntryAdded` for a list endpoint whose argument is its query
 * parameters and whose data is a `LiveList` (`transformResponse` with
 * `liveListOf`): a live list subscription with `have` from the loaded items.
 */
export function liveList<Arg extends ListParams, T extends LiveItem>({
  objectType,
  params = (arg) => arg,
  compare,
}: {
  objectType: string;
  params?: (arg: Arg) => ListParams;
  compare?: (a: T, b: T) => number;
}): OnCacheEntryAdded<Arg, LiveList<T>> {
  return async (arg, { extra, cacheDataLoaded, cacheEntryRemoved, updateCachedData }) => {
    let data: LiveList<T>;
    try {
      ({ data } = await cacheDataLoaded);
    } catch {
      return;
    }
    const have = Object.fromEntries(data.ids.map((id) => [id, positionOf(data.entities[id].stream)]));
    const release = clientOf(extra).subscribeList({ objectType, list: params(arg) }, have, {
      onEvent: (frame) => updateCachedData((draft) => applyToList(draft, frame, compare)),
    });
    await cacheEntryRemoved;
    release();
  };
}

// --- connection status for components ------------------------------------------

/** Seqs kept per stream in `debug.applied` (enough to check a burst of replayed events). */
export const DEBUG_APPLIED_LIMIT = 1000;

export interface RealtimeState {
  status: ConnectionStatus;
  /** The last close: its code, and whether the server announced a restart. */
  lastClose: { code: number; delayMs: number | null; restart: boolean } | null;
  /** After the last (re)connect: what was replayed and reloaded, and how long it took. */
  lastCatchUp: (CaughtUpInfo & { at: number }) | null;
  debug: {
    /**
     * The seqs applied per stream, in order (the last `DEBUG_APPLIED_LIMIT`); a live list's frames under
     * `<list name> <stream>`.
     */
    applied: Record<string, number[]>;
    events: number;
    duplicates: number;
    gaps: number;
    reloads: number;
    /** Closes the server announced with a `reconnect` frame (a restart). */
    restartHints: number;
  };
}

const initialState: RealtimeState = {
  status: "idle",
  lastClose: null,
  lastCatchUp: null,
  debug: { applied: {}, events: 0, duplicates: 0, gaps: 0, reloads: 0, restartHints: 0 },
};

export const realtimeSlice = createSlice({
  name: "realtime",
  initialState,
  reducers: {
    statusChanged(state, action: PayloadAction<ConnectionStatus>) {
      state.status = action.payload;
    },
    closed(state, action: PayloadAction<RealtimeState["lastClose"]>) {
      state.lastClose = action.payload;
      if (action.payload?.restart) state.debug.restartHints += 1;
    },
    caughtUp(state, action: PayloadAction<CaughtUpInfo & { at: number }>) {
      state.lastCatchUp = action.payload;
    },
    eventApplied(state, action: PayloadAction<{ stream: string; seq: number }>) {
      const { stream, seq } = action.payload;
      state.debug.events += 1;
      const applied = (state.debug.applied[stream] ??= []);
      applied.push(seq);
      if (applied.length > DEBUG_APPLIED_LIMIT) applied.splice(0, applied.length - DEBUG_APPLIED_LIMIT);
    },
    duplicateDropped(state) {
      state.debug.duplicates += 1;
    },
    gapDetected(state) {
      state.debug.gaps += 1;
    },
    reloaded(state) {
      state.debug.reloads += 1;
    },
    reset() {
      return initialState;
    },
  },
});

export const realtimeActions = realtimeSlice.actions;

/** The connection, for components: `useSelector(selectRealtime).status`. */
export function selectRealtime(state: { realtime: RealtimeState }): RealtimeState {
  return state.realtime;
}

/** Feed `realtimeSlice` from the client's notices; returns a function that stops it. */
export function bindRealtime(client: RealtimeClient, dispatch: Dispatch): () => void {
  const actions = realtimeSlice.actions;
  return client.addListener({
    onStatus: (status) => dispatch(actions.statusChanged(status)),
    onClosed: (info) => dispatch(actions.closed(info)),
    onCaughtUp: (info) => dispatch(actions.caughtUp({ ...info, at: Date.now() })),
    onEvent: (frame) => {
      // A list's frames are counted apart from the object's own subscription (`<list> <stream>`).
      const stream = frame.meta.list ? `${frame.meta.list} ${frame.meta.stream}` : frame.meta.stream;
      dispatch(actions.eventApplied({ stream, seq: frame.meta.seq }));
    },
    onDuplicate: () => dispatch(actions.duplicateDropped()),
    onGap: () => dispatch(actions.gapDetected()),
    onSubscribed: (info) => {
      if (info.reloaded) dispatch(actions.reloaded());
    },
  });
}
