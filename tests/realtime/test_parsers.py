"""Strict parsers: deep nesting, lone surrogates and NUL characters are a 400 on every endpoint, never a 500."""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import quote

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.exceptions import ParseError
from rest_framework.test import APIClient

from realtime.ids import encode_id
from realtime.parsers import MAX_DEPTH, StrictFormParser, StrictJSONParser, unsafe_text_reason

pytestmark = pytest.mark.django_db

SURROGATE, NUL = "\ud800", "a\x00b"


# --- the check and the parsers ----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"name": SURROGATE}, "surrogate"),
        ({SURROGATE: "x"}, "surrogate"),
        ({"members": [NUL]}, "NUL"),
        ({NUL: 1}, "NUL"),
        ([[{"a": [NUL]}]], "NUL"),
        (json.loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)), "Nested deeper"),
    ],
)
def test_unsafe_values_are_named(value, reason):
    """A NUL or lone surrogate anywhere (keys too), or nesting past the bound, is refused with its reason."""
    assert reason in unsafe_text_reason(value)


def test_safe_values_pass():
    """Ordinary data, surrogate pairs (real astral characters) and nesting up to the bound are accepted."""
    nested = json.loads("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))
    assert unsafe_text_reason({"name": "😀 ü", "members": ["bob"], "n": 1, "x": None, "deep": nested}) is None


def parse_json(body: str | bytes) -> Any:
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    return StrictJSONParser().parse(io.BytesIO(raw), parser_context={})


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 5_000 + "1" + "}" * 5_000,
        "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
        '{"kind": "\\ud800"}',
        '{"members": ["a\\u0000b"]}',
        '{"a\\u0000": 1}',
        '{"n": 1e999}',
        '{"n": NaN}',
        b'{"name": "\xff"}',
        "1" * 5_000,
    ],
    ids=[
        "deep-list",
        "deep-object",
        "one-too-deep",
        "surrogate",
        "nul",
        "nul-key",
        "inf",
        "nan",
        "bad-utf8",
        "huge-int",
    ],
)
def test_json_parser_refuses_with_parse_error(body):
    """Each hostile body is a ParseError (DRF's 400), never a RecursionError or a value that fails later."""
    with pytest.raises(ParseError):
        parse_json(body)


def test_json_parser_keeps_ordinary_json():
    """Valid JSON decodes exactly as DRF's parser would."""
    assert parse_json('{"name": "x\\u00fc", "members": ["bob"], "n": 1.5, "\\ud83d\\ude00": true}') == {
        "name": "xü",
        "members": ["bob"],
        "n": 1.5,
        "😀": True,
    }


def test_form_parser_refuses_nul_in_names_and_values():
    """Form bodies (the browsable API) are checked too; an ordinary form passes."""
    parser = StrictFormParser()
    for body in (b"name=a%00b", b"na%00me=x"):
        with pytest.raises(ParseError):
            parser.parse(io.BytesIO(body), parser_context={})
    assert parser.parse(io.BytesIO(b"name=x&members=bob"), parser_context={}).getlist("members") == ["bob"]


# --- every operation of the OpenAPI schema ------------------------------------------

# The project's own API (the test session also mounts the host-shape app under /hosts/, tested in tests/hosts).
SCHEMA = SchemaGenerator(urlconf="project.urls").get_schema(request=None, public=True)
OPERATIONS = [
    (method.upper(), path, operation)
    for path, methods in SCHEMA["paths"].items()
    for method, operation in methods.items()
]


def request_fields(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The properties of the operation's JSON request body, from the schema's components."""
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    name = schema["$ref"].rsplit("/", 1)[-1]
    return SCHEMA["components"]["schemas"][name].get("properties", {})


def json_bodies(operation: dict[str, Any]) -> dict[str, str]:
    """Hostile JSON bodies for this operation: every declared field set to a NUL or surrogate, keys, nesting."""

    def each_field(bad: str) -> str:
        fields = request_fields(operation) or {"name": {}}
        body = {
            name: [bad] if spec.get("type") == "array" else {"k": bad} if spec.get("type") == "object" else bad
            for name, spec in fields.items()
        }
        return json.dumps(body, ensure_ascii=True)

    return {
        "nul-values": each_field(NUL),
        "surrogate-values": each_field(SURROGATE),
        "nul-key": json.dumps({NUL: "x"}),
        "deep": "[" * 50_000 + "]" * 50_000,
    }


BODY_CASES = [
    pytest.param(method, path, operation, name, id=f"{method} {path} {name}")
    for method, path, operation in OPERATIONS
    if "requestBody" in operation
    for name in ("nul-values", "surrogate-values", "nul-key", "deep", "form-nul", "multipart-nul")
]


@pytest.fixture
def writer(alice, foo) -> tuple[APIClient, dict[str, str]]:
    """An API client as alice, who owns ``foo``, and the ids to fill into each path's ``{id}``."""
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(alice)
    return client, {"/api/foo/{id}/": encode_id(foo.pk)}


def concrete(path: str, ids: dict[str, str]) -> str:
    return path.replace("{id}", ids.get(path, encode_id(10**6)))


@pytest.mark.parametrize(("method", "path", "operation", "case"), BODY_CASES)
def test_every_operation_refuses_hostile_bodies_with_400(writer, method, path, operation, case):
    """Each operation that takes a body answers a hostile one (JSON, form or multipart) with a 400 parse error."""
    client, ids = writer
    url = concrete(path, ids)
    if case == "form-nul":
        response = client.generic(method, url, "name=a%00b&members=a%00b", "application/x-www-form-urlencoded")
    elif case == "multipart-nul":
        boundary = "BoUnDaRy"
        body = f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\na\x00b\r\n--{boundary}--\r\n'
        response = client.generic(method, url, body.encode(), f"multipart/form-data; boundary={boundary}")
    else:
        response = client.generic(method, url, json_bodies(operation)[case], "application/json")
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert "parse error" in response.json()["detail"].lower()


BODYLESS = [
    pytest.param(method, path, id=f"{method} {path}")
    for method, path, operation in OPERATIONS
    if "requestBody" not in operation
]


@pytest.mark.parametrize(("method", "path"), BODYLESS)
def test_operations_without_a_body_never_500_on_one(writer, method, path):
    """Operations that read no body ignore a hostile one: whatever they answer, it is not a server error."""
    client, ids = writer
    response = client.generic(method, concrete(path, ids), '{"x": "\\ud800\\u0000"}', "application/json")
    assert response.status_code < 500, response.content[:300]


#: Query-string values as raw bytes: NUL, a surrogate in WTF-8 (invalid UTF-8), out of range and malformed numbers.
QUERY_VALUES = ["%00", "a%00b", "%ED%A0%80", quote(str(2**63)), "9" * 30, "-1", "1e5", "abc", "%FF"]
QUERY_CASES = [
    pytest.param(method, path, parameter["name"], value, id=f"{method} {path} {parameter['name']}={value}")
    for method, path, operation in OPERATIONS
    for parameter in operation.get("parameters", [])
    if parameter["in"] == "query"
    for value in QUERY_VALUES
]


@pytest.mark.parametrize(("method", "path", "name", "value"), QUERY_CASES)
def test_every_query_parameter_survives_hostile_values(writer, method, path, name, value):
    """Every documented query parameter answers NULs, surrogates and huge or malformed numbers with 2xx or 4xx."""
    client, ids = writer
    response = client.generic(method, f"{concrete(path, ids)}?{name}={value}")
    assert response.status_code < 500, response.content[:300]
