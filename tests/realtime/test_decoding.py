"""Decoding client frames (``realtime.decoding``): a message dict, or a refusal with the reason for the client."""

from __future__ import annotations

import json

import pytest

from realtime.decoding import MAX_DEPTH, FrameRefused, FrameTooBig, decode_message

LIMIT = 16 * 1024


def nested(depth: int) -> str:
    """A message whose value is ``depth - 1`` arrays deep (the message object itself is level 1)."""
    return '{"action": "ping", "x": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


def test_a_message_is_decoded():
    """A JSON object comes back as the dict it encodes, non-ASCII text included."""
    assert decode_message(text='{"action": "ping", "request_id": "é😀"}', max_bytes=LIMIT) == {
        "action": "ping",
        "request_id": "é😀",
    }


def test_a_binary_frame_is_refused():
    """Binary frames (``text`` is None) are refused with a reason the client can act on."""
    with pytest.raises(FrameRefused, match="Binary frames"):
        decode_message(text=None, max_bytes=LIMIT)


@pytest.mark.parametrize("text", ["{oops", "", "{'a': 1}", '{"a": 1} trailing'])
def test_text_that_is_not_json_is_refused(text):
    """Malformed JSON is one refusal, not a crash."""
    with pytest.raises(FrameRefused, match="not valid JSON"):
        decode_message(text=text, max_bytes=LIMIT)


@pytest.mark.parametrize("text", ["[]", '"ping"', "42", "null", "true"])
def test_json_that_is_not_an_object_is_refused(text):
    """Only a JSON object is a message."""
    with pytest.raises(FrameRefused, match="JSON object"):
        decode_message(text=text, max_bytes=LIMIT)


def test_a_frame_of_exactly_max_bytes_is_accepted_and_one_more_byte_is_too_big():
    """The limit counts bytes, inclusive."""
    frame = json.dumps({"action": "ping", "pad": ""})
    frame = frame.replace('""', '"' + "x" * (LIMIT - len(frame)) + '"')
    assert len(frame.encode()) == LIMIT
    assert decode_message(text=frame, max_bytes=LIMIT)["action"] == "ping"
    with pytest.raises(FrameTooBig):
        decode_message(text=frame.replace('"x', '"xx', 1), max_bytes=LIMIT)


def test_the_limit_counts_utf8_bytes_not_characters():
    """6,000 euro signs are 6,000 characters but 18,000 bytes: too big for 16 KiB; 5,000 (15,000 bytes) are not."""
    assert decode_message(text=json.dumps({"x": "€" * 5000}, ensure_ascii=False), max_bytes=LIMIT)
    with pytest.raises(FrameTooBig):
        decode_message(text=json.dumps({"x": "€" * 6000}, ensure_ascii=False), max_bytes=LIMIT)


def test_too_big_is_a_kind_of_refusal():
    """Callers that only catch FrameRefused still refuse an oversized frame (the consumer closes with 4413 first)."""
    assert issubclass(FrameTooBig, FrameRefused)


def test_nesting_up_to_max_depth_is_accepted_and_one_level_more_is_refused():
    """MAX_DEPTH levels of objects and arrays decode; MAX_DEPTH + 1 is refused."""
    assert decode_message(text=nested(MAX_DEPTH), max_bytes=LIMIT)["action"] == "ping"
    with pytest.raises(FrameRefused, match="nested too deeply"):
        decode_message(text=nested(MAX_DEPTH + 1), max_bytes=LIMIT)


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_deep_nesting_is_refused_without_recursion_error(depth):
    """1,000 levels (the decoder's own walk) and 100,000 (json's RecursionError) are both one refusal."""
    text = "[" * depth + "]" * depth
    with pytest.raises(FrameRefused, match="nested too deeply"):
        decode_message(text='{"x": ' + text + "}", max_bytes=10 * depth)


@pytest.mark.parametrize(
    "text",
    [
        '{"action": "ping", "request_id": "\\ud800"}',
        '{"action": "\\udfff"}',
        '{"\\ud800": 1}',
        '{"a": {"b": ["ok", "\\udbff"]}}',
        '{"a": [{"\\udc00": 1}]}',
        '{"a": "x\\ud800y"}',
    ],
)
def test_a_lone_surrogate_anywhere_is_refused(text):
    """A string or key with a lone surrogate (which cannot be encoded back to UTF-8) is refused."""
    with pytest.raises(FrameRefused, match="lone surrogate"):
        decode_message(text=text, max_bytes=LIMIT)


def test_an_escaped_surrogate_pair_is_a_character_not_a_lone_surrogate():
    """``\\ud83d\\ude00`` is 😀: accepted."""
    assert decode_message(text='{"request_id": "\\ud83d\\ude00"}', max_bytes=LIMIT) == {"request_id": "😀"}


def test_non_string_values_are_kept_as_json_decodes_them():
    """Numbers of any size, booleans and null pass decoding (the serializers judge them)."""
    message = decode_message(text='{"since": 18446744073709551616, "a": true, "b": null, "c": 1.5}', max_bytes=LIMIT)
    assert message == {"since": 2**64, "a": True, "b": None, "c": 1.5}
