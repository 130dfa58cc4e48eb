/**
 * A mock WebSocket for unit tests of the client: records what the client
 * sends and lets a test play the server. Used by Vitest tests only; the
 * end-to-end tests run the real server.
 */
import type { SocketLike } from "../realtime/client";

export class MockSocket implements SocketLike {
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  closedWith: number | null = null;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason?: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocols: string[] = [],
  ) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(code = 1000): void {
    this.closedWith = code;
    this.readyState = 3;
  }

  /** The server accepts the connection. */
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  /** The server sends a frame. */
  receive(frame: object): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  /** The connection drops (server restart, network) with `code`. */
  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code });
  }

  /** Messages sent with `action`. */
  sentActions(action: string): Record<string, unknown>[] {
    return this.sent.filter((message) => message.action === action);
  }
}

/** A socket factory that remembers every socket it made. */
export function mockSockets(): {
  sockets: MockSocket[];
  createSocket: (url: string, protocols?: string[]) => MockSocket;
  last: () => MockSocket;
} {
  const sockets: MockSocket[] = [];
  return {
    sockets,
    createSocket: (url: string, protocols?: string[]) => {
      const socket = new MockSocket(url, protocols);
      sockets.push(socket);
      return socket;
    },
    last: () => sockets[sockets.length - 1],
  };
}

/** An UPDATE event frame for `foo.<id>` at `seq`. */
export function fooEvent(id: string, seq: number, payload: Record<string, unknown> = {}, epoch = "ep1") {
  return {
    type: "UPDATE_FOO",
    payload: { id, name: `name ${seq}`, ...payload },
    meta: {
      stream: `foo.${id}`,
      epoch,
      seq,
      event: "api:foo:changed",
      object_type: "foo",
      id,
      at: "2026-11-22T12:00:00.000000Z",
    },
  };
}
