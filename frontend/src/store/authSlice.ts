/** The `auth` slice: who is logged in (Django session), with login/logout thunks. */
import { createAction, createAsyncThunk, createSlice } from "@reduxjs/toolkit";

import type { User } from "../api/types";
import { connectionRefused } from "./realtimeSlice";
import type { ThunkConfig } from "./types";

export interface AuthState {
  status: "unknown" | "anonymous" | "authenticated";
  user: User | null;
  error: string | null;
}

const initialState: AuthState = { status: "unknown", user: null, error: null };

/** A session started (after login, or found on page load): the listeners connect and load. */
export const sessionStarted = createAction<User>("auth/sessionStarted");
/** The session ended: the listeners disconnect and clear the store. */
export const sessionEnded = createAction("auth/sessionEnded");

/** On page load: get the CSRF cookie, then ask who we are. */
export const bootstrap = createAsyncThunk<User | null, void, ThunkConfig>(
  "auth/bootstrap",
  async (_, { extra, dispatch }) => {
    await extra.api.csrf();
    const user = await extra.api.me();
    dispatch(user ? sessionStarted(user) : sessionEnded());
    return user;
  },
);

export const login = createAsyncThunk<User, { username: string; password: string }, ThunkConfig>(
  "auth/login",
  async ({ username, password }, { extra, dispatch }) => {
    await extra.api.csrf();
    const user = await extra.api.login(username, password);
    dispatch(sessionStarted(user));
    return user;
  },
);

export const logout = createAsyncThunk<void, void, ThunkConfig>("auth/logout", async (_, { extra, dispatch }) => {
  await extra.api.logout();
  dispatch(sessionEnded());
});

const slice = createSlice({
  name: "auth",
  initialState,
  reducers: {},
  extraReducers: (builder) => {
    builder
      .addCase(sessionStarted, (state, action) => {
        state.status = "authenticated";
        state.user = action.payload;
        state.error = null;
      })
      .addCase(sessionEnded, (state) => {
        state.status = "anonymous";
        state.user = null;
      })
      .addCase(connectionRefused, (state) => {
        state.status = "anonymous";
        state.user = null;
        state.error = "Your session has ended: log in again.";
      })
      .addCase(login.pending, (state) => {
        state.error = null;
      })
      .addCase(login.rejected, (state, action) => {
        state.error = action.error.message ?? "Login failed.";
      })
      .addCase(bootstrap.rejected, (state, action) => {
        state.status = "anonymous";
        state.error = action.error.message ?? "The server is not answering.";
      });
  },
});

export default slice.reducer;
