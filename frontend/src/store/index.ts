/**
 * `makeStore()`: the demo's Redux store: the RTK Query API, the connection
 * status, the session; and the session's life cycle around the socket.
 *
 * A user (found on load, or logged in) connects the `RealtimeClient`;
 * logging out, or the server refusing the socket (4401/4403), closes it,
 * forgets every subscription and empties the cache. Tests pass their own
 * `fetchImpl` and `client` (with a mock socket).
 */
import { configureStore, createListenerMiddleware, isAnyOf } from "@reduxjs/toolkit";

import { api } from "../api/api";
import type { User } from "../api/types";
import { protocol, RealtimeClient } from "../realtime";
import { bindRealtime, realtimeActions, realtimeSlice } from "../realtime/rtkQuery";
import session, { fooPath, fooSelected, sessionEnded } from "./session";

export function makeStore({
  fetchImpl,
  client = new RealtimeClient(),
  history = typeof window === "undefined" ? null : window.history,
}: { fetchImpl?: typeof fetch; client?: RealtimeClient; history?: History | null } = {}) {
  const listeners = createListenerMiddleware();

  const store = configureStore({
    reducer: { [api.reducerPath]: api.reducer, realtime: realtimeSlice.reducer, session },
    middleware: (getDefault) =>
      getDefault({ thunk: { extraArgument: { realtime: client, fetch: fetchImpl } } })
        .prepend(listeners.middleware)
        .concat(api.middleware),
  });

  const end = (notice: string | null) => {
    client.close();
    client.clear();
    store.dispatch(api.util.resetApiState());
    store.dispatch(realtimeActions.reset());
    store.dispatch(sessionEnded(notice));
    // Anonymous now: say so without asking the server again.
    store.dispatch(api.util.upsertQueryData("me", undefined, null));
  };

  // A user: connect (subscribes made meanwhile are queued).
  listeners.startListening({
    matcher: isAnyOf(api.endpoints.me.matchFulfilled, api.endpoints.login.matchFulfilled),
    effect: (action) => {
      const user = (action as { payload?: User | null }).payload;
      if (user) {
        if (api.endpoints.login.matchFulfilled(action)) store.dispatch(api.util.upsertQueryData("me", undefined, user));
        store.dispatch(sessionEnded(null));
        client.connect();
      }
    },
  });
  listeners.startListening({ matcher: api.endpoints.logout.matchFulfilled, effect: () => end(null) });
  // A Foo deleted from this page goes away from the URL too.
  listeners.startListening({
    matcher: api.endpoints.deleteFoo.matchFulfilled,
    effect: (action) => {
      if (store.getState().session.selectedId === action.meta.arg.originalArgs) {
        store.dispatch(fooSelected(null));
        history?.pushState(null, "", fooPath(null));
      }
    },
  });

  bindRealtime(client, store.dispatch);
  client.addListener({
    onClosed: ({ code }) => {
      if (code === protocol.CLOSE_NOT_AUTHENTICATED || code === protocol.CLOSE_FORBIDDEN) {
        end("Your session has ended: log in again.");
      }
    },
  });
  return Object.assign(store, { client });
}

export type AppStore = ReturnType<typeof makeStore>;
export type RootState = ReturnType<AppStore["getState"]>;
export type AppDispatch = AppStore["dispatch"];
