/**
 * The demo's REST API as RTK Query endpoints, the Foo and inbox ones kept live.
 *
 * `getFoo` is a live detail (subscribed from its response's stream position;
 * deleted or unshared → `gone`), `listFoos` a live list (the same list
 * `GET /api/foo?<params>` returns, kept live by a list subscription), `inbox`
 * the inbox stream. Types come from the generated OpenAPI schema
 * (`types.ts`). Requests use the store's thunk extra argument `fetch` when
 * it has one (tests pass their own), else the browser's.
 */
import { createApi } from "@reduxjs/toolkit/query/react";

import { protocol, type EventFrame, type ListParams } from "../realtime";
import {
  isAhead,
  liveDetail,
  liveEntry,
  liveList,
  liveListOf,
  liveStream,
  type LiveEntry,
  type LiveList,
} from "../realtime/rtkQuery";
import { ApiError, createBaseQuery, fetchOf, requestJson, type QueryError } from "./http";
import type { Credentials, FooChanges, FooPage, FooResource, InboxNotification, InboxPage, User } from "./types";

export const FOO = "foo";

/** Which Foo to load (`attempt`: see `getFoo`). */
export interface FooQuery {
  id: string;
  attempt?: number;
}
/** Largest page the demo asks for: the whole list in one request (the server caps it at API_MAX_PAGE_SIZE). */
export const LIST_LIMIT = "1000";

/** The order of the demo's lists: by name, then id. */
export function byName(a: FooResource, b: FooResource): number {
  return a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
}

/** True for an event of the inbox stream that is an inbox entry (it has a title), as on the server. */
export function isInboxEntry(frame: EventFrame): frame is EventFrame<InboxNotification> {
  if (frame.meta.object_type !== protocol.INBOX) return false;
  const payload = frame.payload as Partial<InboxNotification> | null;
  return typeof payload === "object" && payload !== null && typeof payload.id === "string" && !!payload.title;
}

/** Apply one inbox event to the cached page: a new unread entry counts once. */
export function applyToInbox(page: InboxPage, frame: EventFrame): void {
  page.seq = Math.max(page.seq, frame.meta.seq);
  page.epoch = frame.meta.epoch;
  if (!isInboxEntry(frame)) return;
  const index = page.results.findIndex((other) => isInboxEntry(other) && other.payload.id === frame.payload.id);
  if (index >= 0) {
    page.results[index] = frame;
    return;
  }
  if (!frame.payload.read) page.unread = (page.unread ?? 0) + 1;
  page.results.push(frame);
}

const request = <T>(url: string, extra: unknown) => requestJson<T>({ url }, fetchOf(extra));
const orNull = async <T>(call: Promise<T>): Promise<T | null> => {
  try {
    return await call;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
};
const fooUrl = (id: string) => `/api/foo/${encodeURIComponent(id)}`;

export const api = createApi({
  reducerPath: "api",
  baseQuery: createBaseQuery(),
  endpoints: (build) => ({
    /** The logged-in user, or `null` (anonymous). Fetches the CSRF cookie first. */
    me: build.query<User | null, void>({
      async queryFn(_arg, _api, _extra, baseQuery) {
        await baseQuery("/api/auth/csrf");
        const result = await baseQuery("/api/me");
        if (result.error) {
          const { status } = result.error as QueryError;
          return status === 401 || status === 403 ? { data: null } : { error: result.error as QueryError };
        }
        return { data: result.data as User };
      },
    }),
    login: build.mutation<User, Credentials>({
      async queryFn(credentials, _api, _extra, baseQuery) {
        await baseQuery("/api/auth/csrf");
        const result = await baseQuery({ url: "/api/auth/login", method: "POST", body: credentials });
        return result.error ? { error: result.error as QueryError } : { data: result.data as User };
      },
    }),
    logout: build.mutation<null, void>({
      query: () => ({ url: "/api/auth/logout", method: "POST" }),
    }),

    /** A list endpoint's result for `params`, live: objects enter, change and leave as they do on the server. */
    listFoos: build.query<LiveList<FooResource>, ListParams>({
      query: (params) => ({ url: "/api/foo", params: { ...params, limit: LIST_LIMIT } }),
      transformResponse: (page: FooPage) => liveListOf(page.results, byName),
      onCacheEntryAdded: liveList<ListParams, FooResource>({ objectType: FOO, compare: byName }),
    }),
    /**
     * One Foo, live; `gone` says when it was deleted or is no longer shared with you. A new `attempt` is a
     * fresh cache entry (a new load and subscription) for a Foo whose entry is gone, e.g. shared again.
     */
    getFoo: build.query<LiveEntry<FooResource>, FooQuery>({
      query: ({ id }) => fooUrl(id),
      transformResponse: (foo: FooResource) => liveEntry(foo),
      onCacheEntryAdded: liveDetail<FooQuery, FooResource>({
        objectType: FOO,
        id: ({ id }) => id,
        load: ({ id }, extra) => orNull(request<FooResource>(fooUrl(id), extra)),
      }),
    }),
    createFoo: build.mutation<FooResource, FooChanges>({
      query: (changes) => ({ url: "/api/foo", method: "POST", body: changes }),
    }),
    /** Save; the response is written to the cached Foo only if it is newer than what the socket brought. */
    updateFoo: build.mutation<FooResource, { id: string; changes: FooChanges }>({
      query: ({ id, changes }) => ({ url: fooUrl(id), method: "PATCH", body: changes }),
      async onQueryStarted({ id }, { dispatch, getState, queryFulfilled }) {
        const { data } = await queryFulfilled.catch(() => ({ data: null }));
        if (!data) return;
        for (const arg of api.util.selectCachedArgsForQuery(getState(), "getFoo")) {
          if (arg.id !== id) continue;
          dispatch(
            api.util.updateQueryData("getFoo", arg, (entry) => {
              if (!entry.gone && isAhead(data.stream, entry.item.stream)) entry.item = data;
            }),
          );
        }
      },
    }),
    deleteFoo: build.mutation<null, string>({
      query: (id) => ({ url: fooUrl(id), method: "DELETE" }),
    }),

    /** The latest page of your inbox, live. */
    inbox: build.query<InboxPage, void>({
      query: () => "/api/notifications/",
      onCacheEntryAdded: liveStream<void, InboxPage>({
        target: () => ({ objectType: protocol.INBOX }),
        position: (page) => ({ seq: page.seq, epoch: page.epoch }),
        apply: applyToInbox,
        load: (_arg, extra) => request<InboxPage>("/api/notifications/", extra),
      }),
    }),
    markRead: build.mutation<InboxNotification, { id: string; read: boolean }>({
      query: ({ id, read }) => ({
        url: `/api/notifications/${encodeURIComponent(id)}`,
        method: "PATCH",
        body: { read },
      }),
      async onQueryStarted(_arg, { dispatch, queryFulfilled }) {
        const { data } = await queryFulfilled.catch(() => ({ data: null }));
        if (!data) return;
        dispatch(
          api.util.updateQueryData("inbox", undefined, (page) => {
            for (const frame of page.results) {
              if (!isInboxEntry(frame) || frame.payload.id !== data.id) continue;
              if (frame.payload.read !== data.read)
                page.unread = Math.max(0, (page.unread ?? 0) + (data.read ? -1 : 1));
              frame.payload = { ...frame.payload, read: data.read };
            }
          }),
        );
      },
    }),
  }),
});

export const {
  useMeQuery,
  useLoginMutation,
  useLogoutMutation,
  useListFoosQuery,
  useGetFooQuery,
  useCreateFooMutation,
  useUpdateFooMutation,
  useDeleteFooMutation,
  useInboxQuery,
  useMarkReadMutation,
} = api;
