/**
 * The Redux glue of the realtime client.
 *
 * Client to store: every applied event frame is dispatched as the Redux
 * action it already is (`UPDATE_FOO`, `DELETE_FOO`, `CREATE_NOTIFICATION`),
 * and status, subscribe, end and catch-up notices as `realtime/*` actions.
 * Store to client: `connectRequested`, `subscribeRequested`... call the
 * client. When the server cannot replay, the client reloads a target by
 * dispatching the thunk registered for its object type in `reloaders`.
 */
import type { Middleware, UnknownAction } from "@reduxjs/toolkit";

import { protocol, type Position, type RealtimeClient, type Target } from "../realtime";
import {
  caughtUp,
  connectionRefused,
  connectRequested,
  disconnectRequested,
  duplicateDropped,
  gapDetected,
  statusChanged,
  streamEnded,
  streamSubscribed,
  subscribeRequested,
  unsubscribeRequested,
} from "./realtimeSlice";
import type { ThunkAppDispatch as Dispatch } from "./types";

/** Reload one target over REST (a thunk's `unwrap()`ped result): its new position, or `null` when gone. */
export type Reloader = (dispatch: Dispatch, target: Target) => Promise<Position | null>;

export function createRealtimeMiddleware({
  client,
  reloaders,
}: {
  client: RealtimeClient;
  reloaders: Record<string, Reloader>;
}): Middleware {
  return (store) => {
    const dispatch = store.dispatch as Dispatch;
    client.setReload((target) => {
      const reloader = reloaders[target.objectType];
      if (!reloader) throw new Error(`No reloader for object type ${target.objectType}: add one to makeStore().`);
      return reloader(dispatch, target);
    });
    client.addListener({
      onEvent: (frame) => dispatch(frame as unknown as UnknownAction),
      onStatus: (status) => {
        dispatch(statusChanged(status));
        const code = client.closeCode;
        if (status === "closed" && (code === protocol.CLOSE_NOT_AUTHENTICATED || code === protocol.CLOSE_FORBIDDEN)) {
          dispatch(connectionRefused(code));
        }
      },
      onSubscribed: (info) => dispatch(streamSubscribed(info)),
      onEnded: (info) => dispatch(streamEnded(info)),
      onCaughtUp: (info) => dispatch(caughtUp({ ...info, at: Date.now() })),
      onDuplicate: () => dispatch(duplicateDropped()),
      onGap: () => dispatch(gapDetected()),
    });
    return (next) => (action) => {
      if (connectRequested.match(action)) client.connect();
      else if (disconnectRequested.match(action)) {
        client.close();
        client.clear();
      } else if (subscribeRequested.match(action)) client.subscribe(action.payload.target, action.payload.position);
      else if (unsubscribeRequested.match(action)) client.unsubscribe(action.payload.target);
      return next(action);
    };
  };
}
