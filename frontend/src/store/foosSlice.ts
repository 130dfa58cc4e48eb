/**
 * The `foos` slice: an entity adapter of the Foos you can see, loaded over
 * REST and kept live by the socket.
 *
 * `CREATE_FOO`/`UPDATE_FOO` upsert the payload, `DELETE_FOO` removes it, and
 * so does a subscription the server ended (`deleted`, `revoked` when the Foo
 * was unshared from you, `not_found` when that happened while you were away).
 * Loading a Foo over REST also subscribes to it from the REST response's
 * stream position, so nothing between the load and the subscribe is lost.
 */
import { createAsyncThunk, createEntityAdapter, createSlice, isAnyOf, type PayloadAction } from "@reduxjs/toolkit";

import type { Foo, FooChanges, FooResource } from "../api/types";
import { protocol, type Position } from "../realtime";
import { sessionEnded } from "./authSlice";
import {
  connectionRefused,
  isEventOf,
  streamEnded,
  subscribeRequested,
  unsubscribeRequested,
  type RealtimeState,
} from "./realtimeSlice";
import type { ThunkConfig } from "./types";

export const FOO = "foo";
export const CREATE_FOO = protocol.actionType(protocol.CREATE, FOO);
export const UPDATE_FOO = protocol.actionType(protocol.UPDATE, FOO);
export const DELETE_FOO = protocol.actionType(protocol.DELETE, FOO);

export const foosAdapter = createEntityAdapter<Foo>({
  sortComparer: (a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id),
});

export interface FoosState extends ReturnType<typeof foosAdapter.getInitialState> {
  loading: boolean;
  error: string | null;
  selectedId: string | null;
}

const initialState: FoosState = { ...foosAdapter.getInitialState(), loading: false, error: null, selectedId: null };

/** The Foo without its REST-only `stream` field. */
export function fooOf(resource: FooResource | Foo): Foo {
  const { stream: _stream, ...foo } = resource as FooResource;
  return foo;
}

function positionOf(resource: FooResource): Position {
  return { seq: resource.stream.seq, epoch: resource.stream.epoch };
}

/**
 * True when `resource` is newer than what the socket applied of its stream
 * (a REST response may be overtaken by live events, a later change or the
 * Foo's deletion).
 */
function isAhead(state: { realtime: RealtimeState }, resource: FooResource): boolean {
  const applied = state.realtime.positions[resource.stream.name];
  return !applied || applied.epoch !== resource.stream.epoch || applied.seq < resource.stream.seq;
}

/**
 * Every Foo you can see, each subscribed from the position it was loaded at.
 * Merged into the store, not replacing it: a Foo created, or changed live,
 * while the list was loading keeps its newer state.
 */
export const loadFoos = createAsyncThunk<Foo[], void, ThunkConfig>(
  "foos/load",
  async (_, { extra, dispatch, getState }) => {
    const resources = await extra.api.listFoos();
    for (const resource of resources) {
      dispatch(subscribeRequested({ target: { objectType: FOO, id: resource.id }, position: positionOf(resource) }));
    }
    const state = getState() as { realtime: RealtimeState };
    return resources.filter((resource) => isAhead(state, resource)).map(fooOf);
  },
);

/**
 * Load one Foo (again) and subscribe from its position; `null` when it is
 * gone or hidden from you. Also the realtime client's reload for Foos.
 */
export const fetchFoo = createAsyncThunk<Position | null, string, ThunkConfig>(
  "foos/fetch",
  async (id, { extra, dispatch }) => {
    const resource = await extra.api.getFoo(id);
    if (resource === null) {
      dispatch(fooRemoved(id));
      return null;
    }
    dispatch(fooLoaded(fooOf(resource)));
    dispatch(subscribeRequested({ target: { objectType: FOO, id }, position: positionOf(resource) }));
    return positionOf(resource);
  },
);

export const createFoo = createAsyncThunk<Foo, FooChanges, ThunkConfig>(
  "foos/create",
  async (changes, { extra, dispatch }) => {
    const resource = await extra.api.createFoo(changes);
    dispatch(subscribeRequested({ target: { objectType: FOO, id: resource.id }, position: positionOf(resource) }));
    return fooOf(resource);
  },
);

/**
 * Save changes. The response is applied only if it is newer than what the
 * socket already applied (another user's later change may have arrived
 * first); otherwise the live `UPDATE_FOO` brings it.
 */
export const saveFoo = createAsyncThunk<void, { id: string; changes: FooChanges }, ThunkConfig>(
  "foos/save",
  async ({ id, changes }, { extra, dispatch, getState }) => {
    const resource = await extra.api.updateFoo(id, changes);
    if (isAhead(getState() as { realtime: RealtimeState }, resource)) {
      dispatch(fooLoaded(fooOf(resource)));
    }
  },
);

export const deleteFoo = createAsyncThunk<void, string, ThunkConfig>("foos/delete", async (id, { extra, dispatch }) => {
  await extra.api.deleteFoo(id);
  dispatch(unsubscribeRequested({ target: { objectType: FOO, id } }));
  dispatch(fooRemoved(id));
});

const slice = createSlice({
  name: "foos",
  initialState,
  reducers: {
    fooLoaded: foosAdapter.upsertOne,
    fooRemoved(state, action: PayloadAction<string>) {
      foosAdapter.removeOne(state, action.payload);
      if (state.selectedId === action.payload) state.selectedId = null;
    },
    fooSelected(state, action: PayloadAction<string | null>) {
      state.selectedId = action.payload;
    },
  },
  extraReducers: (builder) => {
    builder
      .addCase(loadFoos.pending, (state) => {
        state.loading = true;
        state.error = null;
      })
      .addCase(loadFoos.fulfilled, (state, action) => {
        state.loading = false;
        foosAdapter.upsertMany(state, action.payload);
      })
      .addCase(loadFoos.rejected, (state, action) => {
        state.loading = false;
        state.error = action.error.message ?? "Could not load your Foos.";
      })
      .addCase(createFoo.fulfilled, (state, action) => {
        foosAdapter.upsertOne(state, action.payload);
        state.selectedId = action.payload.id;
      })
      .addCase(streamEnded, (state, action) => {
        const { target } = action.payload;
        if (target.objectType !== FOO || !target.id) return;
        foosAdapter.removeOne(state, target.id);
        if (state.selectedId === target.id) state.selectedId = null;
      })
      .addMatcher(isAnyOf(sessionEnded, connectionRefused), () => initialState)
      .addMatcher(isEventOf<Foo>(CREATE_FOO, UPDATE_FOO), (state, action) => {
        foosAdapter.upsertOne(state, fooOf(action.payload));
      })
      .addMatcher(isEventOf<{ id: string }>(DELETE_FOO), (state, action) => {
        foosAdapter.removeOne(state, action.payload.id);
        if (state.selectedId === action.payload.id) state.selectedId = null;
      });
  },
});

export const { fooLoaded, fooRemoved, fooSelected } = slice.actions;
export const fooSelectors = foosAdapter.getSelectors((state: { foos: FoosState }) => state.foos);
export default slice.reducer;
