/**
 * The REST transport of the demo: `fetch` with the Django session, the CSRF
 * header on unsafe methods, and errors as sentences a person can read.
 *
 * Unsafe methods send the CSRF token from Django's `csrftoken` cookie (set by
 * `GET /api/auth/csrf`, and rotated by login). `baseQuery` is the RTK Query
 * base query built on it; `requestJson` is the same request for code that
 * runs outside a query (the realtime reloads).
 */
import type { BaseQueryFn } from "@reduxjs/toolkit/query";

export class ApiError extends Error {
  constructor(
    readonly status: number | "offline",
    readonly body: unknown,
  ) {
    super(errorMessage(status, body));
    this.name = "ApiError";
  }
}

const FIELD_NAMES: Record<string, string> = { name: "Name", bar: "Bar", members: "Shared with" };

/** A readable sentence for a failed request: DRF's `detail`, a field error, or what the status means. */
export function errorMessage(status: number | "offline", body: unknown): string {
  if (status === "offline") {
    return "The server could not be reached, so nothing was saved. Check that it is running and try again.";
  }
  if (body && typeof body === "object") {
    const record = body as Record<string, unknown>;
    if (typeof record.detail === "string") return record.detail;
    for (const [field, value] of Object.entries(record)) {
      if (Array.isArray(value) && typeof value[0] === "string") {
        const label = FIELD_NAMES[field];
        return label && field !== "non_field_errors" ? `${label}: ${value[0]}` : value[0];
      }
    }
  }
  if (status === 404) return "This no longer exists, or you may no longer see it.";
  if (status === 403) return "You may not do that.";
  if (status === 429) return "Too many requests: wait a moment and try again.";
  if (status >= 500) return `The server failed (${status}); nothing was changed. Try again in a moment.`;
  return `The server answered ${status}.`;
}

function readCookie(name: string): string | null {
  if (typeof document === "undefined") return null;
  for (const part of document.cookie.split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return decodeURIComponent(value.join("="));
  }
  return null;
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

export interface Request {
  url: string;
  method?: string;
  body?: unknown;
  params?: Record<string, string | string[] | undefined>;
}

function withParams(url: string, params: Request["params"]): string {
  if (!params) return url;
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const item of value === undefined ? [] : Array.isArray(value) ? value : [value]) search.append(key, item);
  }
  const query = search.toString();
  return query ? `${url}?${query}` : url;
}

/** One JSON request; throws `ApiError` (with a readable message) on failure. */
export async function requestJson<T>(
  { url, method = "GET", body, params }: Request,
  fetchImpl: typeof fetch = (input, init) => globalThis.fetch(input, init),
): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (!SAFE.has(method)) headers["X-CSRFToken"] = readCookie("csrftoken") ?? "";
  let response: Response;
  try {
    response = await fetchImpl(withParams(url, params), {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError("offline", null); // fetch rejects only when no answer came at all
  }
  const text = await response.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null; // a proxy's HTML error page
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data as T;
}

/** The error of a failed query or mutation, as RTK Query stores it. */
export interface QueryError {
  status: number | "offline";
  message: string;
  body: unknown;
}

/** The `fetch` in a store's thunk extra argument (`{fetch}`: tests pass their own), else the browser's. */
export function fetchOf(extra: unknown): typeof fetch | undefined {
  return (extra as { fetch?: typeof fetch } | undefined)?.fetch;
}

/** RTK Query's base query over `requestJson`. */
export function createBaseQuery(): BaseQueryFn<Request | string, unknown, QueryError> {
  return async (request, { extra }) => {
    try {
      const data = await requestJson(typeof request === "string" ? { url: request } : request, fetchOf(extra));
      return { data };
    } catch (error) {
      if (error instanceof ApiError)
        return { error: { status: error.status, message: error.message, body: error.body } };
      throw error;
    }
  };
}

/** The sentence for any error a query or mutation returned. */
export function describeError(error: unknown): string {
  if (error && typeof error === "object" && typeof (error as QueryError).message === "string") {
    return (error as QueryError).message;
  }
  return "Something went wrong; try again.";
}
