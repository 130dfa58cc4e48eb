/** Types shared by the slices: the thunk context (the REST `Api` comes in as the thunk extra argument). */
import type { ThunkDispatch, UnknownAction } from "@reduxjs/toolkit";

import type { Api } from "../api/http";

export interface ThunkExtra {
  api: Api;
}

export interface ThunkConfig {
  extra: ThunkExtra;
  state: unknown;
}

/** A dispatch that runs the slices' thunks. */
export type ThunkAppDispatch = ThunkDispatch<unknown, ThunkExtra, UnknownAction>;
