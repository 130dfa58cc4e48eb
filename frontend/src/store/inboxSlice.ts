/**
 * The `inbox` slice: your notifications (a Foo shared with you...) and the
 * unread count, loaded over REST and kept live by the inbox subscription
 * (`CREATE_NOTIFICATION`).
 */
import { createAsyncThunk, createEntityAdapter, createSlice, isAnyOf } from "@reduxjs/toolkit";

import type { InboxNotification } from "../api/types";
import { protocol, type Position } from "../realtime";
import { sessionEnded } from "./authSlice";
import { connectionRefused, isEventOf, subscribeRequested } from "./realtimeSlice";
import type { ThunkConfig } from "./types";

export const INBOX_TARGET = { objectType: protocol.INBOX };

export const inboxAdapter = createEntityAdapter<InboxNotification>({
  sortComparer: (a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id),
});

export interface InboxState extends ReturnType<typeof inboxAdapter.getInitialState> {
  unread: number;
}

const initialState: InboxState = { ...inboxAdapter.getInitialState(), unread: 0 };

/** Load the latest page and the unread count, and subscribe from the page's position (also the inbox reload). */
export const loadInbox = createAsyncThunk<Position, void, ThunkConfig>("inbox/load", async (_, { extra, dispatch }) => {
  const [page, unread] = await Promise.all([extra.api.inbox(), extra.api.unreadCount()]);
  const position = { seq: page.seq, epoch: page.epoch };
  dispatch(inboxLoaded({ notifications: page.results.map((frame) => frame.payload), unread }));
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
      .addMatcher(isEventOf<InboxNotification>(protocol.NOTIFICATION_CREATED), (state, action) => {
        const notification = action.payload;
        if (!state.entities[notification.id] && !notification.read) state.unread += 1;
        inboxAdapter.upsertOne(state, notification);
      });
  },
});

export const { inboxLoaded } = slice.actions;
export const inboxSelectors = inboxAdapter.getSelectors((state: { inbox: InboxState }) => state.inbox);
export default slice.reducer;
