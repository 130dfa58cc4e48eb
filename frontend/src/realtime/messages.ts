/**
 * Types of the WebSocket's messages, generated from the AsyncAPI document (realtime/asyncapi.py)
 * by `npm run gen:asyncapi`. Do not edit: protocol.ts is checked against them (protocol.contract.ts).
 */

export type paths = Record<string, never>;
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** @description ``auth.User`` as the API shows it: the profile, never the password or the last login. */
        Account: {
            readonly id: string;
            /** @description Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only. */
            readonly username: string;
            readonly first_name: string;
            readonly last_name: string;
            /**
             * Email address
             * Format: email
             */
            readonly email: string;
            /**
             * Active
             * @description Designates whether this user should be treated as active. Unselect this instead of deleting accounts.
             */
            readonly is_active: boolean;
            readonly groups: string[];
            /** @description Subscribe with since=seq and epoch to continue from this state. */
            readonly stream: components["schemas"]["StreamPosition"];
        };
        /** @description A account as its serializer renders it at the time of the change (the REST `Account` without its REST-only fields). */
        AccountEventPayload: {
            readonly id: string;
            /** @description Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only. */
            readonly username: string;
            readonly first_name: string;
            readonly last_name: string;
            /**
             * Email address
             * Format: email
             */
            readonly email: string;
            /**
             * Active
             * @description Designates whether this user should be treated as active. Unselect this instead of deleting accounts.
             */
            readonly is_active: boolean;
            readonly groups: string[];
        };
        /** @description Only the object's identity. */
        AccountIdentity: {
            /** @description The account's public id. */
            id: string;
        };
        /** @description Many subscriptions in one message (a client resubscribing after a reconnect). */
        BatchSubscribeMessage: {
            /** @constant */
            action: "subscribe";
            request_id?: components["schemas"]["RequestId"];
            streams: components["schemas"]["SubscribeEntry"][];
        };
        /** @description The answer to a batch subscribe: one result per entry, in the request's order. */
        BatchSubscribedFrame: {
            /** @constant */
            type: "subscribed";
            request_id?: components["schemas"]["RequestId"];
            results: (components["schemas"]["StreamSubscribed"] | components["schemas"]["ListSubscribed"] | components["schemas"]["EntryError"])[];
        };
        /** @description A account was created. */
        CREATE_ACCOUNT: {
            /** @constant */
            type: "CREATE_ACCOUNT";
            payload: components["schemas"]["AccountEventPayload"];
            meta: components["schemas"]["EventMeta"];
        };
        /** @description A foo was created. */
        CREATE_FOO: {
            /** @constant */
            type: "CREATE_FOO";
            payload: components["schemas"]["FooEventPayload"];
            meta: components["schemas"]["EventMeta"];
        };
        /** @description A user-facing notification in your inbox stream. */
        CREATE_NOTIFICATION: {
            /** @constant */
            type: "CREATE_NOTIFICATION";
            payload: components["schemas"]["InboxEntry"];
            meta: components["schemas"]["EventMeta"];
        };
        /** @description A account was deleted; its subscriptions end. */
        DELETE_ACCOUNT: {
            /** @constant */
            type: "DELETE_ACCOUNT";
            payload: components["schemas"]["AccountIdentity"];
            meta: components["schemas"]["EventMeta"];
        };
        /** @description A foo was deleted; its subscriptions end. */
        DELETE_FOO: {
            /** @constant */
            type: "DELETE_FOO";
            payload: components["schemas"]["FooIdentity"];
            meta: components["schemas"]["EventMeta"];
        };
        /** @description A failed batch entry. */
        EntryError: {
            error: {
                /** @enum {string} */
                code: "invalid" | "not_found" | "not_authenticated" | "rate_limited" | "too_many_subscriptions" | "server_error";
                message: string;
                errors?: unknown;
            };
        };
        /** @description A message could not be handled; the socket stays open. */
        ErrorFrame: {
            /** @constant */
            type: "error";
            request_id?: components["schemas"]["RequestId"];
            /** @enum {string} */
            code: "invalid" | "not_found" | "not_authenticated" | "rate_limited" | "too_many_subscriptions" | "server_error";
            message: string;
            errors?: unknown;
        };
        /** @description Where an event stands: its stream, epoch and seq, and what it is. */
        EventMeta: {
            /** @description The stream: `<type>.<id>`, or `user.<id>` for an inbox. */
            stream: string;
            /** @description The stream's epoch (its history's identity). */
            epoch: string;
            /** @description Dense and increasing within a stream. */
            seq: number;
            /** @description The named event `<app>:<context>:<action>`. */
            event: string;
            object_type: string;
            /** @description The object's public id. */
            id: string | null;
            /** Format: date-time */
            at: string;
            /** @description On a live list's frames: the list's name (`foo?search=x`). */
            list?: string;
            /**
             * @description On a live list's frames: how the object stands to the list.
             * @enum {string}
             */
            membership?: "enter" | "update" | "leave";
        };
        /** @description Replayed events, several to a frame (with the `realtime.v2` subprotocol). */
        EventsFrame: {
            /** @constant */
            type: "events";
            request_id?: components["schemas"]["RequestId"];
            events: (components["schemas"]["CREATE_ACCOUNT"] | components["schemas"]["UPDATE_ACCOUNT"] | components["schemas"]["DELETE_ACCOUNT"] | components["schemas"]["LEAVE_ACCOUNT"] | components["schemas"]["CREATE_FOO"] | components["schemas"]["UPDATE_FOO"] | components["schemas"]["DELETE_FOO"] | components["schemas"]["LEAVE_FOO"] | components["schemas"]["CREATE_NOTIFICATION"])[];
        };
        Foo: {
            readonly id: string;
            name: string;
            bar?: string;
            readonly owner: string;
            /** @description Usernames of the users this Foo is shared with. */
            members?: string[];
            /** Format: date-time */
            readonly created_at: string;
            /** Format: date-time */
            readonly updated_at: string;
            /** @description Subscribe with since=seq and epoch to continue from this state. */
            readonly stream: components["schemas"]["StreamPosition"];
        };
        /** @description A foo as its serializer renders it at the time of the change (the REST `Foo` without its REST-only fields). */
        FooEventPayload: {
            readonly id: string;
            name: string;
            bar?: string;
            readonly owner: string;
            /** @description Usernames of the users this Foo is shared with. */
            members?: string[];
            /** Format: date-time */
            readonly created_at: string;
            /** Format: date-time */
            readonly updated_at: string;
        };
        /** @description Only the object's identity. */
        FooIdentity: {
            /** @description The foo's public id. */
            id: string;
        };
        /** @description An inbox notification, as in the payload of ``CREATE_NOTIFICATION`` (with its current read state). */
        InboxEntry: {
            id: string;
            event: string;
            title: string;
            body: string;
            icon: string;
            client_action: string;
            object_type: string;
            object_id: string | null;
            data: unknown;
            read: boolean;
            created_at: string;
        };
        /** @description A account left a live list (no longer visible or matching); only its id. */
        LEAVE_ACCOUNT: {
            /** @constant */
            type: "LEAVE_ACCOUNT";
            payload: components["schemas"]["AccountIdentity"];
            meta: components["schemas"]["EventMeta"];
        };
        /** @description A foo left a live list (no longer visible or matching); only its id. */
        LEAVE_FOO: {
            /** @constant */
            type: "LEAVE_FOO";
            payload: components["schemas"]["FooIdentity"];
            meta: components["schemas"]["EventMeta"];
        };
        /** @description The list endpoint's query parameters (page parameters limit, offset, page, page_size, cursor are ignored). */
        ListParams: {
            [key: string]: string | string[];
        };
        /** @description A live list subscription, caught up. */
        ListSubscribed: {
            /** @description The list's name: `<type>?<query string sorted by name>`. */
            stream: string;
            /** @constant */
            list: true;
            members: number;
            replayed: number;
        };
        PingMessage: {
            /** @constant */
            action: "ping";
            request_id?: components["schemas"]["RequestId"];
        };
        /** @description The answer to a ping. */
        PongFrame: {
            /** @constant */
            type: "pong";
            request_id?: components["schemas"]["RequestId"];
        };
        /** @description The server is going away on purpose, or is too busy admitting other sockets to take this one: come back after `after_ms` plus a random share of `spread_ms`; a close with 4503 follows. */
        ReconnectFrame: {
            /** @constant */
            type: "reconnect";
            request_id?: components["schemas"]["RequestId"];
            after_ms: number;
            spread_ms: number;
        };
        /** @description Echoed by every reply to the message. */
        RequestId: string | number;
        /** @description The shape of ``StreamPositionField`` in the OpenAPI schema. */
        StreamPosition: {
            /** @description The stream, e.g. foo.<id>. */
            name: string;
            /** @description The last event included in this representation. */
            seq: number;
            /** @description The stream's epoch (null before its first event). */
            epoch: string | null;
        };
        /** @description An object or inbox subscription, caught up (it comes after the replayed events). */
        StreamSubscribed: {
            stream: string;
            epoch: string | null;
            seq: number;
            /** @description Every event after `since` was replayed. */
            recovered: boolean;
            replayed: number;
            /** @enum {string} */
            reason?: "epoch" | "pruned" | "ahead" | "limit" | "visibility";
            /** @description REST URL to page through what was not replayed. */
            history?: string;
        };
        /** @description One subscription: an object (`id`), the inbox, or a live list (`list` + `have`). */
        SubscribeEntry: {
            /** @description A live type, or `inbox`. */
            object_type: string;
            /** @description The object's public id (not for the inbox or a list). */
            id?: string;
            /** @description The last seq applied. */
            since?: number;
            /** @description The epoch `since` belongs to. */
            epoch?: string;
            list?: components["schemas"]["ListParams"];
            /** @description A live list: the ids the client holds, with the seq it has of each. */
            have?: {
                [key: string]: number;
            };
        };
        /** @description Subscribe to one stream; `since`/`epoch` replay what was missed. */
        SubscribeMessage: {
            /** @constant */
            action: "subscribe";
            request_id?: components["schemas"]["RequestId"];
            /** @description A live type, or `inbox`. */
            object_type: string;
            /** @description The object's public id (not for the inbox or a list). */
            id?: string;
            /** @description The last seq applied. */
            since?: number;
            /** @description The epoch `since` belongs to. */
            epoch?: string;
            list?: components["schemas"]["ListParams"];
            /** @description A live list: the ids the client holds, with the seq it has of each. */
            have?: {
                [key: string]: number;
            };
        };
        /** @description The answer to a single subscribe. */
        SubscribedFrame: {
            /** @constant */
            type: "subscribed";
            request_id?: components["schemas"]["RequestId"];
        } & (components["schemas"]["StreamSubscribed"] | components["schemas"]["ListSubscribed"]);
        /** @description A account changed (one committed transaction). */
        UPDATE_ACCOUNT: {
            /** @constant */
            type: "UPDATE_ACCOUNT";
            payload: components["schemas"]["AccountEventPayload"];
            meta: components["schemas"]["EventMeta"];
        };
        /** @description A foo changed (one committed transaction). */
        UPDATE_FOO: {
            /** @constant */
            type: "UPDATE_FOO";
            payload: components["schemas"]["FooEventPayload"];
            meta: components["schemas"]["EventMeta"];
        };
        UnsubscribeMessage: {
            /** @constant */
            action: "unsubscribe";
            request_id?: components["schemas"]["RequestId"];
            object_type: string;
            id?: string;
            list?: components["schemas"]["ListParams"];
        };
        /** @description A subscription ended: the answer to an unsubscribe, or the server's own (`reason`). */
        UnsubscribedFrame: {
            /** @constant */
            type: "unsubscribed";
            request_id?: components["schemas"]["RequestId"];
            stream: string;
            /** @enum {string} */
            reason?: "deleted" | "revoked";
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export type operations = Record<string, never>;
