/** A fake `fetch` for store tests: routes `METHOD /path` to handlers (the real server is exercised end to end). */
import { vi } from "vitest";

export type Handler = (body: unknown, url: URL) => { status?: number; body?: unknown } | "offline";

export function fakeFetch(routes: Record<string, Handler>) {
  const calls: string[] = [];
  const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), "http://test");
    const method = init?.method ?? "GET";
    const route = `${method} ${url.pathname.replace(/\/$/, "")}`;
    calls.push(`${route}${url.search}`);
    const handler = routes[route];
    const answer = handler ? handler(init?.body ? JSON.parse(String(init.body)) : undefined, url) : { status: 404 };
    if (answer === "offline") throw new TypeError("Failed to fetch");
    const { status = 200, body = null } = answer;
    return new Response(body === null ? null : JSON.stringify(body), { status });
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, calls };
}
