"""realtime.asyncapi: the document comes from the protocol constants and the live-model registry."""

from __future__ import annotations

from realtime import protocol
from realtime.asyncapi import asyncapi_document, json_schema


def test_openapi_nullable_and_example_become_json_schema():
    """`nullable` turns into a null type (or a oneOf for a $ref), `example` into `examples`."""
    assert json_schema({"type": "string", "nullable": True, "example": "x"}) == {
        "type": ["string", "null"],
        "examples": ["x"],
    }
    assert json_schema({"allOf": [{"$ref": "#/components/schemas/A"}], "nullable": True}) == {
        "oneOf": [{"allOf": [{"$ref": "#/components/schemas/A"}]}, {"type": "null"}]
    }
    assert json_schema({"type": "string", "enum": ["a"], "nullable": True})["enum"] == ["a", None]


def test_every_live_model_has_its_four_event_messages_with_the_serializers_payload():
    """CREATE_/UPDATE_/DELETE_/LEAVE_FOO exist; create and update carry Foo's component without `stream`."""
    document = asyncapi_document()
    schemas, messages = document["components"]["schemas"], document["components"]["messages"]
    for verb in (protocol.CREATE, protocol.UPDATE, protocol.DELETE, protocol.LEAVE):
        name = protocol.action_type(verb, "foo")
        assert messages[name]["payload"] == {"$ref": f"#/components/schemas/{name}"}
        assert schemas[name]["properties"]["type"] == {"type": "string", "const": name}
    payload = schemas["FooEventPayload"]
    assert set(payload["properties"]) == {"id", "name", "bar", "owner", "members", "created_at", "updated_at"}
    assert "stream" in schemas["Foo"]["properties"], "the REST component keeps its stream field"
    assert schemas["UPDATE_FOO"]["properties"]["payload"] == {"$ref": "#/components/schemas/FooEventPayload"}
    assert schemas["LEAVE_FOO"]["properties"]["payload"] == {"$ref": "#/components/schemas/FooIdentity"}


def test_the_protocol_constants_are_the_documents():
    """Actions, frame types, error codes and membership values are spelled as realtime.protocol spells them."""
    schemas = asyncapi_document()["components"]["schemas"]
    assert schemas["SubscribeMessage"]["properties"]["action"]["const"] == protocol.SUBSCRIBE
    assert schemas["EventsFrame"]["properties"]["type"]["const"] == protocol.EVENTS
    assert schemas["ReconnectFrame"]["properties"]["type"]["const"] == protocol.RECONNECT
    codes = schemas["ErrorFrame"]["properties"]["code"]["enum"]
    assert set(codes) == {
        protocol.INVALID,
        protocol.NOT_FOUND,
        protocol.NOT_AUTHENTICATED,
        protocol.RATE_LIMITED,
        protocol.TOO_MANY_SUBSCRIPTIONS,
        protocol.SERVER_ERROR,
    }
    membership = schemas["EventMeta"]["properties"]["membership"]["enum"]
    assert membership == [protocol.MEMBERSHIP_ENTER, protocol.MEMBERSHIP_UPDATE, protocol.MEMBERSHIP_LEAVE]
    replayable = {
        item["$ref"].rsplit("/", 1)[1] for item in schemas["EventsFrame"]["properties"]["events"]["items"]["oneOf"]
    }
    assert {"CREATE_FOO", "UPDATE_FOO", "DELETE_FOO", "LEAVE_FOO", protocol.NOTIFICATION_CREATED} <= replayable
    assert {name for name in schemas if name.startswith(("CREATE_", "UPDATE_", "DELETE_", "LEAVE_"))} == replayable


def test_the_view_serves_it_with_this_host_as_its_server(api_client):
    """GET /api/asyncapi/ answers the document as JSON, anonymously, naming the requesting host."""
    response = api_client.get("/api/asyncapi/", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    document = response.json()
    assert document["asyncapi"] == "3.0.0"
    assert document["servers"]["default"] == {"host": "127.0.0.1:8000", "protocol": "ws", "description": "This server."}
    assert document["channels"]["notifications"]["address"] == "/ws/notifications/"
