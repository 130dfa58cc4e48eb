/**
 * The `realtime` slice: connection status, per-stream positions, the last
 * catch-up after a (re)connect, and debug counters the browser tests read.
 *
 * Also the request actions the Redux glue turns into client calls
 * (`subscribeRequested`, ...). Event frames themselves are dispatched as
 * their own Redux actions (`UPDATE_FOO`...); `isEventAction` recognises them.
 */
import { createAction, createSlice, type PayloadAction, type UnknownAction } from "@reduxjs/toolkit";

import type {
  CaughtUpInfo,
  ConnectionStatus,
  EndedInfo,
  EventFrame,
  Position,
  SubscribedInfo,
  Target,
} from "../realtime";

/** Seqs kept per stream in `debug.applied` (enough to check a burst of replayed events). */
export const DEBUG_APPLIED_LIMIT = 1000;

export interface RealtimeState {
  status: ConnectionStatus;
  /** Last applied position per stream name. */
  positions: Record<string, Position>;
  lastCatchUp: (CaughtUpInfo & { at: number }) | null;
  debug: {
    /** Events applied, over all streams. */
    events: number;
    /** The seqs applied per stream, in order (the last `DEBUG_APPLIED_LIMIT`). */
    applied: Record<string, number[]>;
    duplicates: number;
    gaps: number;
    reloads: number;
  };
}

const initialState: RealtimeState = {
  status: "idle",
  positions: {},
  lastCatchUp: null,
  debug: { events: 0, applied: {}, duplicates: 0, gaps: 0, reloads: 0 },
};

/** True for the server's event frames dispatched as Redux actions. */
export function isEventAction(action: unknown): action is EventFrame & UnknownAction {
  const meta = (action as { meta?: { stream?: unknown; seq?: unknown } }).meta;
  return typeof meta === "object" && meta !== null && typeof meta.stream === "string" && typeof meta.seq === "number";
}

/** An event action of one type, e.g. `isEventOf("UPDATE_FOO")`. */
export function isEventOf<P>(...types: string[]) {
  return (action: unknown): action is EventFrame<P> & UnknownAction =>
    isEventAction(action) && types.includes((action as UnknownAction).type);
}

// Requests, handled by the realtime middleware.
export const connectRequested = createAction("realtime/connectRequested");
export const disconnectRequested = createAction("realtime/disconnectRequested");
export const subscribeRequested = createAction<{ target: Target; position?: Position | null }>(
  "realtime/subscribeRequested",
);
export const unsubscribeRequested = createAction<{ target: Target }>("realtime/unsubscribeRequested");
/** The server refused the socket (4401: no longer logged in, 4403: deactivated); it will not reconnect. */
export const connectionRefused = createAction<number>("realtime/connectionRefused");

const slice = createSlice({
  name: "realtime",
  initialState,
  reducers: {
    statusChanged(state, action: PayloadAction<ConnectionStatus>) {
      state.status = action.payload;
    },
    streamSubscribed(state, action: PayloadAction<SubscribedInfo>) {
      state.positions[action.payload.stream] = action.payload.position;
      if (action.payload.reloaded) state.debug.reloads += 1;
    },
    streamEnded(state, action: PayloadAction<EndedInfo>) {
      // Positions are kept by stream name (an object's key is its stream name; the inbox's is not).
      delete state.positions[action.payload.stream ?? action.payload.key];
    },
    caughtUp(state, action: PayloadAction<CaughtUpInfo & { at: number }>) {
      state.lastCatchUp = action.payload;
    },
    duplicateDropped(state) {
      state.debug.duplicates += 1;
    },
    gapDetected(state) {
      state.debug.gaps += 1;
    },
    reset() {
      return initialState;
    },
  },
  extraReducers: (builder) => {
    builder.addMatcher(isEventAction, (state, action) => {
      const { stream, seq, epoch } = action.meta;
      state.positions[stream] = { seq, epoch };
      state.debug.events += 1;
      const applied = (state.debug.applied[stream] ??= []);
      applied.push(seq);
      if (applied.length > DEBUG_APPLIED_LIMIT) applied.splice(0, applied.length - DEBUG_APPLIED_LIMIT);
    });
  },
});

export const { statusChanged, streamSubscribed, streamEnded, caughtUp, duplicateDropped, gapDetected, reset } =
  slice.actions;
export default slice.reducer;
