"""json.loads, but the lists at chosen places are read item by item and each item counted
before the next is read: a document with a list too long stops at one item past the bound,
instead of becoming a tree of Python objects first (some 10 times the file's size)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
# path of keys from the root → called with the item's index before that item is read
Counters = dict[tuple[str, ...], Callable[[int], None]]


def loads(text: str, counters: Counters) -> object:
    """The document `text`, as json.loads reads it; JSONDecodeError when it is not JSON."""
    value, end = _value(text, _SPACE.match(text, 0).end(), (), counters)
    end = _SPACE.match(text, end).end()
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def _value(text: str, at: int, path: tuple[str, ...], counters: Counters):
    char = text[at:at + 1]
    if char == "{" and any(len(p) > len(path) and p[:len(path)] == path for p in counters):
        return _object(text, at, path, counters)
    if char == "[" and path in counters:
        return _array(text, at, counters[path])
    return _DECODER.raw_decode(text, at)


def _object(text: str, at: int, path: tuple[str, ...], counters: Counters):
    result: dict = {}
    at = _SPACE.match(text, at + 1).end()
    if text[at:at + 1] == "}":
        return result, at + 1
    while True:
        if text[at:at + 1] != '"':
            raise json.JSONDecodeError(
                "Expecting property name enclosed in double quotes", text, at)
        key, at = json.decoder.scanstring(text, at + 1)
        at = _SPACE.match(text, at).end()
        if text[at:at + 1] != ":":
            raise json.JSONDecodeError("Expecting ':' delimiter", text, at)
        at = _SPACE.match(text, at + 1).end()
        result[key], at = _value(text, at, (*path, key), counters)
        at, done = _next(text, at, "}")
        if done:
            return result, at


def _array(text: str, at: int, count: Callable[[int], None]):
    result: list = []
    at = _SPACE.match(text, at + 1).end()
    if text[at:at + 1] == "]":
        return result, at + 1
    while True:
        count(len(result))
        item, at = _DECODER.raw_decode(text, at)
        result.append(item)
        at, done = _next(text, at, "]")
        if done:
            return result, at


def _next(text: str, at: int, close: str) -> tuple[int, bool]:
    """Past what follows a value: the `close` (done) or a `,` and the space after it."""
    at = _SPACE.match(text, at).end()
    char = text[at:at + 1]
    if char == close:
        return at + 1, True
    if char != ",":
        raise json.JSONDecodeError("Expecting ',' delimiter", text, at)
    return _SPACE.match(text, at + 1).end(), False
