"""The AsyncAPI 3.0 document of ``/ws/notifications/``, generated from the protocol and the live-model registry.

Everything in it comes from code that the server runs: the frame types,
actions, codes and limits from ``realtime.protocol`` and ``realtime.conf``;
one message per event type of each registered live model
(``CREATE_``/``UPDATE_``/``DELETE_``/``LEAVE_<TYPE>``), whose payload is the
OpenAPI component drf-spectacular makes of the model's serializer (without
the REST-only ``stream`` field, which events carry in ``meta``); the inbox
entry from ``InboxEntrySerializer``. OpenAPI 3.0 schemas are turned into
AsyncAPI (JSON Schema) ones on the way (``nullable`` becomes a ``null``
type, ``example`` becomes ``examples``).

``asyncapi_document()`` builds it; ``AsyncAPIView`` serves it at
``/api/asyncapi/`` (JSON) with the requesting host as its server (mounted
when drf-spectacular is installed: the ``schema`` extra, which makes the
payload schemas). The
frontend keeps a copy (``frontend/src/realtime/asyncapi.json``) that its
TypeScript message types are generated from; a test validates the document
with the AsyncAPI parser and checks that the copy is current.
"""

from __future__ import annotations

import copy
from typing import Any

from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from realtime import protocol
from realtime.conf import realtime_settings
from realtime.fields import StreamPositionField
from realtime.registry import LiveModel, registry
from realtime.schema import OpenApiTypes, extend_schema

ASYNCAPI_VERSION = "3.0.0"
#: Where the endpoint is mounted (``realtime.routing.websocket_urlpatterns``).
SOCKET_PATH = "/ws/notifications/"
CHANNEL = "notifications"

_SCHEMAS = "#/components/schemas/"
_MESSAGES = "#/components/messages/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"{_SCHEMAS}{name}"}


def _const(value: str) -> dict[str, Any]:
    return {"type": "string", "const": value}


def _object(properties: dict[str, Any], *, required: list[str] | None = None, description: str = "") -> dict:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if description:
        schema["description"] = description
    return schema


# --- OpenAPI 3.0 -> AsyncAPI schema ---------------------------------------------------


def json_schema(schema: Any) -> Any:
    """An OpenAPI 3.0 schema as an AsyncAPI (JSON Schema draft 7) schema: ``nullable`` and ``example`` rewritten."""
    if isinstance(schema, list):
        return [json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: json_schema(value) for key, value in schema.items() if key not in {"nullable", "example"}}
    if "example" in schema:
        converted["examples"] = [schema["example"]]
    if schema.get("nullable"):
        if isinstance(converted.get("type"), str):
            converted["type"] = [converted["type"], "null"]
            if "enum" in converted:
                converted["enum"] = [*converted["enum"], None]
        else:
            return {"oneOf": [converted, {"type": "null"}]}
    return converted


def serializer_components(serializer: serializers.BaseSerializer, view: Any) -> tuple[str, dict[str, Any]]:
    """The OpenAPI component drf-spectacular makes of ``serializer`` (its name, and it with its dependencies).

    ``view`` is the (REST) view the serializer belongs to, as drf-spectacular sees views: without a request.
    """
    from drf_spectacular.openapi import AutoSchema
    from drf_spectacular.plumbing import ComponentRegistry

    auto = AutoSchema()
    auto.registry = ComponentRegistry()
    auto.method, auto.path, auto.path_regex = "GET", "/", "/"
    view.request = None
    auto.view = view
    component = auto.resolve_serializer(serializer, "response")
    return component.name, auto.registry.build({}).get("schemas", {})


def _rest_only_fields(serializer: serializers.BaseSerializer) -> list[str]:
    fields = getattr(serializer, "fields", {})
    return [name for name, field in fields.items() if isinstance(field, StreamPositionField)]


# --- the live models' event messages ------------------------------------------------------


def _meta_schema() -> dict[str, Any]:
    membership = {
        "type": "string",
        "enum": [protocol.MEMBERSHIP_ENTER, protocol.MEMBERSHIP_UPDATE, protocol.MEMBERSHIP_LEAVE],
        "description": "On a live list's frames: how the object stands to the list.",
    }
    return _object(
        {
            "stream": {"type": "string", "description": "The stream: `<type>.<id>`, or `user.<id>` for an inbox."},
            "epoch": {"type": "string", "description": "The stream's epoch (its history's identity)."},
            "seq": {"type": "integer", "minimum": 1, "description": "Dense and increasing within a stream."},
            "event": {"type": "string", "description": "The named event `<app>:<context>:<action>`."},
            "object_type": {"type": "string"},
            "id": {"type": ["string", "null"], "description": "The object's public id."},
            "at": {"type": "string", "format": "date-time"},
            "list": {"type": "string", "description": "On a live list's frames: the list's name (`foo?search=x`)."},
            "membership": membership,
        },
        required=["stream", "epoch", "seq", "event", "object_type", "id", "at"],
        description="Where an event stands: its stream, epoch and seq, and what it is.",
    )


def _event_frame(action_type: str, payload: dict[str, Any], description: str) -> dict[str, Any]:
    return _object(
        {"type": _const(action_type), "payload": payload, "meta": _ref("EventMeta")},
        required=["type", "payload", "meta"],
        description=description,
    )


def _live_model_parts(live: LiveModel) -> tuple[dict[str, Any], dict[str, Any]]:
    """(schemas, messages) of one live model: its payload components and its four event messages."""
    serializer = live.serializer_class(context={"realtime": True})
    name, components = serializer_components(serializer, view=live.viewset_class())
    schemas = {key: json_schema(value) for key, value in components.items()}
    payload_name = f"{name}EventPayload"
    payload = copy.deepcopy(schemas[name])
    for field in _rest_only_fields(serializer):
        payload.get("properties", {}).pop(field, None)
        if field in payload.get("required", []):
            payload["required"] = [item for item in payload["required"] if item != field]
    payload["description"] = (
        f"A {live.object_type} as its serializer renders it at the time of the change "
        f"(the REST `{name}` without its REST-only fields)."
    )
    schemas[payload_name] = payload
    identity = {"id": {"type": "string", "description": f"The {live.object_type}'s public id."}}
    schemas[f"{name}Identity"] = _object(identity, required=["id"], description="Only the object's identity.")

    prefix = live.get_type_prefix()
    verbs = {
        protocol.CREATE: (_ref(payload_name), f"A {live.object_type} was created."),
        protocol.UPDATE: (_ref(payload_name), f"A {live.object_type} changed (one committed transaction)."),
        protocol.DELETE: (_ref(f"{name}Identity"), f"A {live.object_type} was deleted; its subscriptions end."),
        protocol.LEAVE: (
            _ref(f"{name}Identity"),
            f"A {live.object_type} left a live list (no longer visible or matching); only its id.",
        ),
    }
    messages = {}
    for verb, (event_payload, summary) in verbs.items():
        action_type = protocol.action_type(verb, prefix)
        schemas[action_type] = _event_frame(action_type, event_payload, summary)
        messages[action_type] = {
            "name": action_type,
            "title": action_type,
            "summary": summary,
            "contentType": "application/json",
            "payload": _ref(action_type),
        }
    return schemas, messages


# --- the protocol's own frames ------------------------------------------------------------


def _protocol_schemas() -> dict[str, Any]:
    request_id = {
        "oneOf": [{"type": "string", "maxLength": 64}, {"type": "integer"}],
        "description": "Echoed by every reply to the message.",
    }
    list_params = {
        "type": "object",
        "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "description": "The list endpoint's query parameters (page parameters "
        f"{', '.join(protocol.LIST_IGNORED_PARAMS)} are ignored).",
    }
    entry_properties = {
        "object_type": {"type": "string", "description": f"A live type, or `{protocol.INBOX}`."},
        "id": {"type": "string", "description": "The object's public id (not for the inbox or a list)."},
        "since": {"type": "integer", "minimum": 0, "description": "The last seq applied."},
        "epoch": {"type": "string", "description": "The epoch `since` belongs to."},
        "list": _ref("ListParams"),
        "have": {
            "type": "object",
            "additionalProperties": {"type": "integer", "minimum": 0},
            "description": "A live list: the ids the client holds, with the seq it has of each.",
        },
    }
    error_codes = [
        protocol.INVALID,
        protocol.NOT_FOUND,
        protocol.NOT_AUTHENTICATED,
        protocol.RATE_LIMITED,
        protocol.TOO_MANY_SUBSCRIPTIONS,
        protocol.SERVER_ERROR,
    ]
    error_detail = _object(
        {"code": {"type": "string", "enum": error_codes}, "message": {"type": "string"}, "errors": {}},
        required=["code", "message"],
    )
    stream_result = _object(
        {
            "stream": {"type": "string"},
            "epoch": {"type": ["string", "null"]},
            "seq": {"type": "integer", "minimum": 0},
            "recovered": {"type": "boolean", "description": "Every event after `since` was replayed."},
            "replayed": {"type": "integer", "minimum": 0},
            "reason": {"type": "string", "enum": ["epoch", "pruned", "ahead", "limit", "visibility"]},
            "history": {"type": "string", "description": "REST URL to page through what was not replayed."},
        },
        required=["stream", "epoch", "seq", "recovered", "replayed"],
        description="An object or inbox subscription, caught up (it comes after the replayed events).",
    )
    list_result = _object(
        {
            "stream": {"type": "string", "description": "The list's name: `<type>?<query string sorted by name>`."},
            "list": {"type": "boolean", "const": True},
            "members": {"type": "integer", "minimum": 0},
            "replayed": {"type": "integer", "minimum": 0},
        },
        required=["stream", "list", "members", "replayed"],
        description="A live list subscription, caught up.",
    )
    control = {"type": _const(""), "request_id": _ref("RequestId")}

    def frame(frame_type: str, properties: dict[str, Any], required: list[str], description: str) -> dict:
        return _object(
            {**control, "type": _const(frame_type), **properties},
            required=["type", *required],
            description=description,
        )

    events_item = {"oneOf": [], "description": "An event frame (filled in with every event type)."}
    return {
        "RequestId": request_id,
        "ListParams": list_params,
        "EventMeta": _meta_schema(),
        "SubscribeEntry": _object(
            entry_properties,
            required=["object_type"],
            description="One subscription: an object (`id`), the inbox, or a live list (`list` + `have`).",
        ),
        "SubscribeMessage": _object(
            {"action": _const(protocol.SUBSCRIBE), "request_id": _ref("RequestId"), **entry_properties},
            required=["action", "object_type"],
            description="Subscribe to one stream; `since`/`epoch` replay what was missed.",
        ),
        "BatchSubscribeMessage": _object(
            {
                "action": _const(protocol.SUBSCRIBE),
                "request_id": _ref("RequestId"),
                "streams": {
                    "type": "array",
                    "items": _ref("SubscribeEntry"),
                    "maxItems": realtime_settings.MAX_SUBSCRIPTIONS,
                },
            },
            required=["action", "streams"],
            description="Many subscriptions in one message (a client resubscribing after a reconnect).",
        ),
        "UnsubscribeMessage": _object(
            {
                "action": _const(protocol.UNSUBSCRIBE),
                "request_id": _ref("RequestId"),
                "object_type": {"type": "string"},
                "id": {"type": "string"},
                "list": _ref("ListParams"),
            },
            required=["action", "object_type"],
        ),
        "PingMessage": _object({"action": _const(protocol.PING), "request_id": _ref("RequestId")}, required=["action"]),
        "StreamSubscribed": stream_result,
        "ListSubscribed": list_result,
        "EntryError": _object({"error": error_detail}, required=["error"], description="A failed batch entry."),
        "SubscribedFrame": {
            "allOf": [
                _object({"type": _const(protocol.SUBSCRIBED), "request_id": _ref("RequestId")}, required=["type"]),
                {"oneOf": [_ref("StreamSubscribed"), _ref("ListSubscribed")]},
            ],
            "description": "The answer to a single subscribe.",
        },
        "BatchSubscribedFrame": frame(
            protocol.SUBSCRIBED,
            {
                "results": {
                    "type": "array",
                    "items": {"oneOf": [_ref("StreamSubscribed"), _ref("ListSubscribed"), _ref("EntryError")]},
                }
            },
            ["results"],
            "The answer to a batch subscribe: one result per entry, in the request's order.",
        ),
        "UnsubscribedFrame": frame(
            protocol.UNSUBSCRIBED,
            {
                "stream": {"type": "string"},
                "reason": {"type": "string", "enum": [protocol.REASON_DELETED, protocol.REASON_REVOKED]},
            },
            ["stream"],
            "A subscription ended: the answer to an unsubscribe, or the server's own (`reason`).",
        ),
        "PongFrame": frame(protocol.PONG, {}, [], "The answer to a ping."),
        "ErrorFrame": frame(
            protocol.ERROR,
            {key: value for key, value in error_detail["properties"].items()},
            ["code", "message"],
            "A message could not be handled; the socket stays open.",
        ),
        "EventsFrame": frame(
            protocol.EVENTS,
            {
                "events": {
                    "type": "array",
                    "items": events_item,
                    "maxItems": protocol.EVENTS_PER_FRAME,
                }
            },
            ["events"],
            f"Replayed events, several to a frame (with the `{protocol.SUBPROTOCOL_EVENTS}` subprotocol).",
        ),
        "ReconnectFrame": frame(
            protocol.RECONNECT,
            {"after_ms": {"type": "integer", "minimum": 0}, "spread_ms": {"type": "integer", "minimum": 0}},
            ["after_ms", "spread_ms"],
            "The server is going away on purpose, or is too busy admitting other sockets to take this one: come "
            f"back after `after_ms` plus a random share of `spread_ms`; a close with {protocol.CLOSE_TRY_AGAIN} "
            "follows.",
        ),
    }


_CLIENT_MESSAGES = {
    "subscribe": ("SubscribeMessage", "Subscribe to an object, the inbox or a live list."),
    "subscribeMany": ("BatchSubscribeMessage", "Subscribe to many streams in one message."),
    "unsubscribe": ("UnsubscribeMessage", "Stop receiving a stream's events."),
    "ping": ("PingMessage", "Check that the connection is alive."),
}
_SERVER_MESSAGES = {
    "subscribed": ("SubscribedFrame", "A subscription is caught up."),
    "subscribedMany": ("BatchSubscribedFrame", "Every entry of a batch subscribe is answered."),
    "unsubscribed": ("UnsubscribedFrame", "A subscription ended."),
    "pong": ("PongFrame", "The answer to a ping."),
    "error": ("ErrorFrame", "A message could not be handled."),
    "events": ("EventsFrame", "Several replayed events in one frame."),
    "reconnect": ("ReconnectFrame", "The server is restarting or busy: when to come back."),
}


def _message(name: str, schema: str, summary: str) -> dict[str, Any]:
    return {"name": name, "title": name, "summary": summary, "contentType": "application/json", "payload": _ref(schema)}


def _close_codes() -> str:
    codes = {
        protocol.CLOSE_NOT_AUTHENTICATED: "no authenticated user: log in, then reconnect",
        protocol.CLOSE_FORBIDDEN: "access revoked while connected: do not reconnect with the same credential",
        protocol.CLOSE_TOO_SLOW: "the client did not read: reconnect with backoff, resubscribe with since",
        protocol.CLOSE_MESSAGE_TOO_BIG: f"a frame over {realtime_settings.MAX_FRAME_BYTES} bytes: a client bug",
        protocol.CLOSE_TOO_MANY_SOCKETS: "too many sockets for this user on this process: reconnect later",
        protocol.CLOSE_SERVER_ERROR: "a server bug (logged): reconnect with backoff",
        protocol.CLOSE_TRY_AGAIN: (
            "the server cannot serve sockets now, is restarting, or is busy admitting others: "
            "reconnect soon, with jitter (after a `reconnect` frame, when it says)"
        ),
    }
    return "\n".join(f"- `{code}`: {meaning}" for code, meaning in codes.items())


def asyncapi_document(*, server: dict[str, str] | None = None) -> dict[str, Any]:
    """The whole AsyncAPI 3.0 document; ``server`` (``{"host", "protocol"}``) names where it is served."""
    schemas = _protocol_schemas()
    messages = {name: _message(name, schema, summary) for name, (schema, summary) in _CLIENT_MESSAGES.items()}
    messages.update({name: _message(name, schema, summary) for name, (schema, summary) in _SERVER_MESSAGES.items()})
    event_names: list[str] = []
    for live in registry.declarations():
        model_schemas, model_messages = _live_model_parts(live)
        schemas.update(model_schemas)
        messages.update(model_messages)
        event_names.extend(model_messages)

    from realtime.views import InboxEntrySerializer, NotificationReadView

    entry_name, entry_components = serializer_components(InboxEntrySerializer(), NotificationReadView())
    schemas.update({key: json_schema(value) for key, value in entry_components.items()})
    schemas[protocol.NOTIFICATION_CREATED] = _event_frame(
        protocol.NOTIFICATION_CREATED, _ref(entry_name), "A user-facing notification in your inbox stream."
    )
    messages[protocol.NOTIFICATION_CREATED] = _message(
        protocol.NOTIFICATION_CREATED, protocol.NOTIFICATION_CREATED, "A notification in your inbox."
    )
    event_names.append(protocol.NOTIFICATION_CREATED)
    schemas["EventsFrame"]["properties"]["events"]["items"]["oneOf"] = [_ref(name) for name in event_names]

    channel_messages = {name: {"$ref": f"{_MESSAGES}{name}"} for name in messages}
    client = [name for name in _CLIENT_MESSAGES]
    server_side = [name for name in messages if name not in _CLIENT_MESSAGES]

    def channel_refs(names: list[str]) -> list[dict[str, str]]:
        return [{"$ref": f"#/channels/{CHANNEL}/messages/{name}"} for name in names]

    document: dict[str, Any] = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Realtime subscriptions WebSocket",
            "version": "1.0.0",
            "description": (
                "One WebSocket per client, JSON text frames (docs/protocol.md). The client sends "
                '`{"action": ...}` messages; the server answers with `{"type": ...}` frames echoing '
                "`request_id`, and sends every logged change as a Redux action `{type, payload, meta}`.\n\n"
                f"Ask for the `{protocol.SUBPROTOCOL_EVENTS}` subprotocol to get replays as `events` frames.\n\n"
                f"Close codes:\n{_close_codes()}"
            ),
        },
        "channels": {
            CHANNEL: {
                "address": SOCKET_PATH,
                "title": "Notifications",
                "description": "Subscriptions to live objects, live lists and your inbox.",
                "messages": channel_messages,
            }
        },
        "operations": {
            "receiveClientMessages": {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{CHANNEL}"},
                "summary": "What a client may send.",
                "messages": channel_refs(client),
            },
            "sendServerFrames": {
                "action": "send",
                "channel": {"$ref": f"#/channels/{CHANNEL}"},
                "summary": "What the server sends: replies, control frames and events.",
                "messages": channel_refs(server_side),
            },
        },
        "components": {"schemas": dict(sorted(schemas.items())), "messages": messages},
    }
    if server:
        document["servers"] = {
            "default": {"host": server["host"], "protocol": server["protocol"], "description": "This server."}
        }
        document["channels"][CHANNEL]["servers"] = [{"$ref": "#/servers/default"}]
    return document


class AsyncAPIView(APIView):
    """The AsyncAPI 3.0 document of the WebSocket endpoint (``/ws/notifications/``), as JSON."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="The AsyncAPI document of /ws/notifications/.")
    def get(self, request: Request) -> Response:
        server = {"host": request.get_host(), "protocol": "wss" if request.is_secure() else "ws"}
        return Response(asyncapi_document(server=server))
