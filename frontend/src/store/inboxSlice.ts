/**
 * The `inbox` slice: your notifications (a Foo shared with you...) and the
 * unread count, loaded over REST and kept live by the inbox subscription.
 *
 * As on the server, an inbox entry is an event of your inbox stream with a
 * `title` (`CREATE_NOTIFICATION`, or any user-facing event an app sends);
 * other events on that stream are not entries and are not counted.
 */
import { createAsyncThunk, createEntityAdapter, createSlice, isAnyOf, type UnknownAction } from "@reduxjs/toolkit";

import type { InboxNotification } from "../api/types";
import { protocol, type EventFrame, type Position } from "../realtime";
import { sessionEnded } from "./authSlice";
import { connectionRefused, isEventAction, subscribeRequested } from "./realtimeSlice";
import type { ThunkConfig } from "./types";

/** True for an event of the inbox stream that is an inbox entry (it has a title). */
export function isInboxEntry(frame: unknown): frame is EventFrame<InboxNotification> & UnknownAction {
  if (!isEventAction(frame) || frame.meta.object_type !== protocol.INBOX) return false;
  const payload = frame.payload as Partial<InboxNotification> | null;
  return typeof payload === "object" && payload !== null && typeof payload.id === "string" && !!payload.title;
}

export const INBOX_TARGET = { objectType: protocol.INBOX };

export const inboxAdapter = createEntityAdapter<InboxNotification>({
  sortComparer: (a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id),
});

export interface InboxState extends ReturnType<typeof inboxAdapter.getInitialState> {
  unread: number;
}

const initialState: InboxState = { ...inboxAdapter.getInitialState(), unread: 0 };

/**
 * Load the latest page, and subscribe from its position (also the inbox
 * reload). The page's `unread` counts the unread entries up to that position,
 * so each entry replayed or received after it is counted once, by the reducer.
 */
export const loadInbox = createAsyncThunk<Position, void, ThunkConfig>("inbox/load", async (_, { extra, dispatch }) => {
  const page = await extra.api.inbox();
  const position = { seq: page.seq, epoch: page.epoch };
  const notifications = page.results.filter(isInboxEntry).map((frame) => frame.payload);
  dispatch(inboxLoaded({ notifications, unread: page.unread ?? notifications.filter((n) => !n.read).length }));
  dispatch(subscribeRequested({ target: INBOX_TARGET, position }));
  return position;
});

export const markRead = createAsyncThunk<InboxNotification, { id: string; read: boolean }, ThunkConfig>(
  "inbox/markRead",
  ({ id, read }, { extra }) => extra.api.markRead(id, read),
);

const slice = createSlice({
  name: "inbox",
  initialState,
  reducers: {
    inboxLoaded(state, action: { payload: { notifications: InboxNotification[]; unread: number } }) {
      inboxAdapter.setAll(state, action.payload.notifications);
      state.unread = action.payload.unread;
    },
  },
  extraReducers: (builder) => {
    builder
      .addCase(markRead.fulfilled, (state, action) => {
        const before = state.entities[action.payload.id];
        if (before && before.read !== action.payload.read) state.unread += action.payload.read ? -1 : 1;
        state.unread = Math.max(0, state.unread);
        inboxAdapter.upsertOne(state, action.payload);
      })
      .addMatcher(isAnyOf(sessionEnded, connectionRefused), () => initialState)
      .addMatcher(isInboxEntry, (state, action) => {
        const notification = action.payload;
        if (!state.entities[notification.id] && !notification.read) state.unread += 1;
        inboxAdapter.upsertOne(state, notification);
      });
  },
});

export const { inboxLoaded } = slice.actions;
export const inboxSelectors = inboxAdapter.getSelectors((state: { inbox: InboxState }) => state.inbox);
export default slice.reducer;
