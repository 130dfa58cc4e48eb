/**
 * The `session` slice: what the demo shows besides cached server data: the
 * selected Foo (mirrored in the URL, `/foo/<id>`) and why a session ended.
 */
import { createSlice, type PayloadAction } from "@reduxjs/toolkit";

export interface SessionState {
  selectedId: string | null;
  /** Shown on the login form: why you were logged out (the socket refused with 4401/4403). */
  notice: string | null;
}

const initialState: SessionState = { selectedId: null, notice: null };

const slice = createSlice({
  name: "session",
  initialState,
  reducers: {
    fooSelected(state, action: PayloadAction<string | null>) {
      state.selectedId = action.payload;
    },
    sessionEnded(state, action: PayloadAction<string | null>) {
      state.notice = action.payload;
    },
    noticeDismissed(state) {
      state.notice = null;
    },
  },
});

export const { fooSelected, sessionEnded, noticeDismissed } = slice.actions;
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

/** Select a Foo and put it in the URL (a new history entry, so the back button returns). */
export function openFoo(id: string | null) {
  return (dispatch: (action: unknown) => unknown) => {
    dispatch(fooSelected(id));
    if (typeof window !== "undefined" && window.location.pathname !== fooPath(id)) {
      window.history.pushState(null, "", fooPath(id));
    }
  };
}
