/**
 * The REST calls the demo makes, over `fetch` with the Django session.
 *
 * Unsafe methods send the CSRF token from Django's `csrftoken` cookie (set by
 * `GET /api/auth/csrf`, and rotated by login). Tests pass their own `Api`
 * object to `makeStore()` instead of mocking `fetch`.
 */
import type { FooChanges, FooResource, InboxNotification, InboxPage, User } from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(errorMessage(status, body));
    this.name = "ApiError";
  }
}

/** A readable message from a DRF error body (`detail`, field errors or `non_field_errors`). */
export function errorMessage(status: number, body: unknown): string {
  if (body && typeof body === "object") {
    const record = body as Record<string, unknown>;
    if (typeof record.detail === "string") return record.detail;
    for (const value of Object.values(record)) {
      if (Array.isArray(value) && typeof value[0] === "string") return value[0];
    }
  }
  return `The server answered ${status}.`;
}

export interface Api {
  csrf(): Promise<void>;
  me(): Promise<User | null>;
  login(username: string, password: string): Promise<User>;
  logout(): Promise<void>;
  listFoos(): Promise<FooResource[]>;
  /** The Foo, or `null` when it does not exist or you may not see it (404). */
  getFoo(id: string): Promise<FooResource | null>;
  createFoo(changes: FooChanges): Promise<FooResource>;
  updateFoo(id: string, changes: FooChanges): Promise<FooResource>;
  deleteFoo(id: string): Promise<void>;
  inbox(): Promise<InboxPage>;
  markRead(id: string, read: boolean): Promise<InboxNotification>;
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

export function createHttpApi({ fetchImpl = globalThis.fetch.bind(globalThis) } = {}): Api {
  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (!SAFE.has(method)) headers["X-CSRFToken"] = readCookie("csrftoken") ?? "";
    const response = await fetchImpl(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) throw new ApiError(response.status, data);
    return data as T;
  }

  async function orNull<T>(call: Promise<T>, ...statuses: number[]): Promise<T | null> {
    try {
      return await call;
    } catch (error) {
      if (error instanceof ApiError && statuses.includes(error.status)) return null;
      throw error;
    }
  }

  return {
    csrf: () => request<unknown>("GET", "/api/auth/csrf").then(() => undefined),
    me: () => orNull(request<User>("GET", "/api/me"), 401, 403),
    login: (username, password) => request<User>("POST", "/api/auth/login", { username, password }),
    logout: () => request<unknown>("POST", "/api/auth/logout").then(() => undefined),
    async listFoos() {
      const foos: FooResource[] = [];
      let url: string | null = "/api/foo?limit=200";
      while (url) {
        const page: { results: FooResource[]; next: string | null } = await request("GET", url);
        foos.push(...page.results);
        const next: URL | null = page.next ? new URL(page.next, "http://localhost") : null;
        url = next ? next.pathname + next.search : null;
      }
      return foos;
    },
    getFoo: (id) => orNull(request<FooResource>("GET", `/api/foo/${encodeURIComponent(id)}`), 404),
    createFoo: (changes) => request<FooResource>("POST", "/api/foo", changes),
    updateFoo: (id, changes) => request<FooResource>("PATCH", `/api/foo/${encodeURIComponent(id)}`, changes),
    deleteFoo: (id) => request<unknown>("DELETE", `/api/foo/${encodeURIComponent(id)}`).then(() => undefined),
    inbox: () => request<InboxPage>("GET", "/api/notifications/"),
    markRead: (id, read) =>
      request<InboxNotification>("PATCH", `/api/notifications/${encodeURIComponent(id)}`, { read }),
  };
}
