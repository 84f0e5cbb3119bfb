"""A lenient JSON reader for what models print.

json.loads cannot help with a cut or a typo, and the truncated case is the common one: we
keep every value completed before the end, in a structure built while reading, so the
partial containers are already linked into the root. Single quotes, trailing commas, bare
keys and Python literals are accepted, and noted in `JsonValue.lenient`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["JsonValue", "find_json_values", "read_json"]

_MAX_DEPTH = 64


class _Stop(Exception):
    def __init__(self, position: int, truncated: bool) -> None:
        super().__init__(position)
        self.position = position
        self.truncated = truncated


@dataclass
class JsonValue:
    value: object
    start: int
    end: int
    status: str  # "complete", "truncated" (the text ended) or "broken" (a syntax error)
    lenient: set[str] = field(default_factory=set)


_WS = re.compile(r"[ \t\r\n]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_CHUNK = {q: re.compile(r"[^%s\\]*" % re.escape(q)) for q in "\"'"}
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r",
            "t": "\t", "'": "'"}
_LITERALS = {"true": True, "false": False, "null": None,
             "True": True, "False": False, "None": None}
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")


def _read_string(s: str, i: int, lenient: set[str]) -> tuple[str, int]:
    """The string whose opening quote is at s[i]; (value, index after the closing quote)."""
    quote = s[i]
    if quote == "'":
        lenient.add("single quotes")
    chunk = _CHUNK[quote]
    n = len(s)
    parts: list[str] = []
    i += 1
    while True:
        end = chunk.match(s, i).end()
        parts.append(s[i:end])
        if end >= n:
            raise _Stop(n, truncated=True)
        if s[end] == quote:
            return "".join(parts), end + 1
        # a backslash
        if end + 1 >= n:
            raise _Stop(n, truncated=True)
        esc = s[end + 1]
        if esc != "u":
            if esc not in _ESCAPES or (esc == "'" and quote == '"'):
                lenient.add("invalid escapes")
            parts.append(_ESCAPES.get(esc, esc))
            i = end + 2
            continue
        hex_match = _HEX4.match(s, end + 2)
        if not hex_match:
            if n - (end + 2) < 4 and all(c in "0123456789abcdefABCDEF" for c in s[end + 2:]):
                raise _Stop(n, truncated=True)
            lenient.add("invalid escapes")
            parts.append("u")
            i = end + 2
            continue
        code = int(hex_match.group(), 16)
        i = hex_match.end()
        if 0xD800 <= code < 0xDC00:
            if s.startswith("\\u", i):
                low = _HEX4.match(s, i + 2)
                if low and 0xDC00 <= int(low.group(), 16) < 0xE000:
                    code = 0x10000 + ((code - 0xD800) << 10) + (int(low.group(), 16) - 0xDC00)
                    i = low.end()
        if 0xD800 <= code < 0xE000:
            code = 0xFFFD  # a lone surrogate cannot be written out as UTF-8 later
        parts.append(chr(code))


def read_json(s: str, start: int) -> JsonValue:  # noqa: C901
    """Read the value opening at s[start] ('{' or '['), as far as it goes."""
    lenient: set[str] = set()
    stack: list[list | dict] = []
    keys: list[str | None] = []  # the pending key of each open object
    root: list | dict | None = None
    last_string: tuple[list | dict, object] | None = None  # where the last string went
    i = start
    n = len(s)
    state = "value"

    def attach(value: object) -> None:
        nonlocal root, last_string
        if not stack:
            root = value  # type: ignore[assignment]
            return
        top = stack[-1]
        if isinstance(top, list):
            top.append(value)
            last_string = (top, len(top) - 1) if isinstance(value, str) else None
        else:
            top[keys[-1]] = value  # type: ignore[index]
            last_string = (top, keys[-1]) if isinstance(value, str) else None

    try:
        while True:
            i = _WS.match(s, i).end()
            if i >= n:
                raise _Stop(n, truncated=True)
            c = s[i]
            if state in ("value", "value_or_close"):
                if c == "]" and state == "value_or_close":
                    state = "close"
                elif c in "{[":
                    if len(stack) >= _MAX_DEPTH:
                        raise _Stop(i, truncated=False)
                    container: list | dict = {} if c == "{" else []
                    attach(container)
                    last_string = None
                    stack.append(container)
                    keys.append(None)
                    i += 1
                    state = "key_or_close" if c == "{" else "value_or_close"
                    continue
                elif c in "\"'":
                    value, i = _read_string(s, i, lenient)
                    attach(value)
                    state = "after"
                    continue
                elif c in "-0123456789":
                    match = _NUMBER.match(s, i)
                    if not match:
                        raise _Stop(i, truncated=i + 1 >= n)
                    if match.end() >= n:
                        raise _Stop(n, truncated=True)  # 12 may be the start of 125
                    attach(float(match.group()) if any(x in match.group() for x in ".eE")
                           else int(match.group()))
                    i = match.end()
                    state = "after"
                    continue
                else:
                    for word, literal in _LITERALS.items():
                        if s.startswith(word, i):
                            if word[0].isupper():
                                lenient.add("Python literals")
                            attach(literal)
                            i += len(word)
                            state = "after"
                            break
                        if word.startswith(s[i:]):
                            raise _Stop(n, truncated=True)
                    else:
                        raise _Stop(i, truncated=False)
                    continue
            if state == "key_or_close":
                if c == "}":
                    state = "close"
                else:
                    if c in "\"'":
                        key, i = _read_string(s, i, lenient)
                    else:
                        match = _BARE_KEY.match(s, i)
                        if not match:
                            raise _Stop(i, truncated=False)
                        if match.end() >= n:
                            raise _Stop(n, truncated=True)
                        key, i = match.group(), match.end()
                        lenient.add("unquoted keys")
                    keys[-1] = key
                    last_string = None
                    state = "colon"
                    continue
            if state == "colon":
                if c != ":":
                    raise _Stop(i, truncated=False)
                i += 1
                state = "value"
                continue
            if state == "after":
                top = stack[-1]
                if c == ",":
                    i += 1
                    state = "key_or_close" if isinstance(top, dict) else "value_or_close"
                    # A trailing comma shows up as a close right after this comma.
                    j = _WS.match(s, i).end()
                    if j < n and s[j] in "]}":
                        lenient.add("trailing commas")
                    continue
                if (c == "]" and isinstance(top, list)) or (c == "}" and isinstance(top, dict)):
                    state = "close"
                else:
                    raise _Stop(i, truncated=False)
            if state == "close":
                stack.pop()
                keys.pop()
                last_string = None
                i += 1
                state = "after"
                if not stack:
                    return JsonValue(root, start, i, "complete", lenient)
    except _Stop as stop:
        if not stop.truncated and state == "after" and last_string is not None:
            # ["He said "hi" to me", ...]: the string before the error was probably cut
            # short by an unescaped quote, so it is not a sentence of the model's.
            container, where = last_string
            del container[where]  # type: ignore[arg-type]
        return JsonValue(root, start, max(stop.position, start + 1),
                          "truncated" if stop.truncated else "broken", lenient)


def find_json_values(text: str) -> list[JsonValue]:
    values = []
    opener = re.compile(r"[\[{]")
    position = 0
    while True:
        match = opener.search(text, position)
        if not match:
            return values
        value = read_json(text, match.start())
        values.append(value)
        # Resume where this reading stopped: every character is read once, so 100 KB of
        # brackets stay linear.
        position = value.end
