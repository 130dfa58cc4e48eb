/**
 * `makeStore()`: the demo's Redux store, wired to a `RealtimeClient`.
 *
 * Tests pass their own `api` (REST) and `client` (with a mock socket);
 * the app uses the defaults (fetch, and a socket to this page's host).
 */
import { configureStore, createListenerMiddleware } from "@reduxjs/toolkit";

import { createHttpApi, type Api } from "../api/http";
import type { InboxNotification } from "../api/types";
import { protocol, RealtimeClient } from "../realtime";
import auth, { sessionEnded, sessionStarted } from "./authSlice";
import foos, { FOO, fetchFoo, loadFoos } from "./foosSlice";
import inbox, { loadInbox } from "./inboxSlice";
import realtime, { connectionRefused, connectRequested, disconnectRequested, isEventOf, reset } from "./realtimeSlice";
import { createRealtimeMiddleware } from "./realtimeMiddleware";
import type { ThunkAppDispatch, ThunkExtra } from "./types";

export function makeStore({
  api = createHttpApi(),
  client = new RealtimeClient(),
}: { api?: Api; client?: RealtimeClient } = {}) {
  const listeners = createListenerMiddleware<unknown, ThunkAppDispatch, ThunkExtra>({ extra: { api } });

  // A session starts: open the socket (subscribe requests queue until it is up) and load.
  listeners.startListening({
    actionCreator: sessionStarted,
    effect: (_, { dispatch }) => {
      dispatch(connectRequested());
      dispatch(loadFoos());
      dispatch(loadInbox());
    },
  });
  const endSession = (_: unknown, { dispatch }: { dispatch: ThunkAppDispatch }) => {
    dispatch(disconnectRequested());
    dispatch(reset());
  };
  listeners.startListening({ actionCreator: sessionEnded, effect: endSession });
  // The socket was refused (session expired, user deactivated): back to the login form.
  listeners.startListening({ actionCreator: connectionRefused, effect: endSession });
  // A Foo was shared with you: load it (which subscribes to it).
  listeners.startListening({
    predicate: isEventOf<InboxNotification>(protocol.NOTIFICATION_CREATED),
    effect: (action, { dispatch, getState }) => {
      const { object_type: objectType, object_id: id } = (action as { payload: InboxNotification }).payload;
      const state = getState() as RootState;
      if (objectType === FOO && id && !state.foos.entities[id]) dispatch(fetchFoo(id));
    },
  });

  const store = configureStore({
    reducer: { auth, foos, inbox, realtime },
    middleware: (getDefault) =>
      getDefault({ thunk: { extraArgument: { api } } })
        .prepend(listeners.middleware)
        .concat(
          createRealtimeMiddleware({
            client,
            reloaders: {
              [FOO]: (dispatch, target) => dispatch(fetchFoo(target.id!)).unwrap(),
              [protocol.INBOX]: (dispatch) => dispatch(loadInbox()).unwrap(),
            },
          }),
        ),
  });
  return store;
}

export type AppStore = ReturnType<typeof makeStore>;
export type RootState = ReturnType<AppStore["getState"]>;
export type AppDispatch = AppStore["dispatch"];
