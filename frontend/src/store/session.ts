/**
 * The `session` slice: what the demo shows besides cached server data: the
 * selected Foo (mirrored in the URL, `/foo/<id>`) and why a session ended.
 */
import { createSlice, type PayloadAction } from "@reduxjs/toolkit";

import { api } from "../api/api";

const selectFoo = api.endpoints.getFoo.select;

export interface SessionState {
  selectedId: string | null;
  /** Bumped to load the selected Foo afresh (a new cache entry) when its entry is gone. */
  attempt: number;
  /** Shown on the login form: why you were logged out (the socket refused with 4401/4403). */
  notice: string | null;
}

const initialState: SessionState = { selectedId: null, attempt: 0, notice: null };

const slice = createSlice({
  name: "session",
  initialState,
  reducers: {
    fooSelected(state, action: PayloadAction<string | null>) {
      state.selectedId = action.payload;
    },
    fooRetried(state) {
      state.attempt += 1;
    },
    sessionEnded(state, action: PayloadAction<string | null>) {
      state.notice = action.payload;
    },
    noticeDismissed(state) {
      state.notice = null;
    },
  },
});

export const { fooSelected, fooRetried, sessionEnded, noticeDismissed } = slice.actions;
export default slice.reducer;

/** The path of a Foo's page. */
export function fooPath(id: string | null): string {
  return id ? `/foo/${encodeURIComponent(id)}` : "/";
}

/** The Foo a path selects (`/foo/<id>`), or `null`. */
export function fooIdOf(pathname: string): string | null {
  const match = pathname.match(/^\/foo\/([^/]+)/);
  return match ? decodeURIComponent(match[1]) : null;
}

/**
 * Select a Foo and put it in the URL (a new history entry, so the back button returns). Opening a Foo
 * whose cached entry is gone (deleted, or unshared and maybe shared again) loads it afresh.
 */
export function openFoo(id: string | null) {
  return (dispatch: (action: unknown) => unknown, getState: () => unknown) => {
    const state = getState() as { session: SessionState } & Parameters<ReturnType<typeof selectFoo>>[0];
    if (id && selectFoo({ id, attempt: state.session.attempt })(state).data?.gone) dispatch(fooRetried());
    dispatch(fooSelected(id));
    if (typeof window !== "undefined" && window.location.pathname !== fooPath(id)) {
      window.history.pushState(null, "", fooPath(id));
    }
  };
}
