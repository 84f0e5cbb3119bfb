"""Keyboard layouts: which keys a finger slips onto."""

from __future__ import annotations

from functools import cache

from .text import strip_accents

# Letter rows only: a typo onto a digit or punctuation key reads as noise, not as a typo.
# Each row sits half a key to the right of the one above, as on a real keyboard.
LAYOUTS: dict[str, tuple[str, ...]] = {
    "qwerty": ("qwertyuiop", "asdfghjkl", "zxcvbnm"),
    "azerty": ("azertyuiop", "qsdfghjklm", "wxcvbn"),
    "qwertz": ("qwertzuiopü", "asdfghjklöä", "yxcvbnm"),
}
_LAYOUT_BY_LANGUAGE = {"fr": "azerty", "de": "qwertz"}  # everything else: qwerty


def layout_for(language: str) -> str:
    return _LAYOUT_BY_LANGUAGE.get(language, "qwerty")


@cache
def _neighbour_map(layout: str) -> dict[str, str]:
    rows = LAYOUTS[layout]
    out: dict[str, str] = {}
    for r, row in enumerate(rows):
        for c, key in enumerate(row):
            near = [row[c - 1] if c > 0 else "", row[c + 1] if c + 1 < len(row) else ""]
            if r > 0:
                near += [rows[r - 1][i] for i in (c, c + 1) if i < len(rows[r - 1])]
            if r + 1 < len(rows):
                near += [rows[r + 1][i] for i in (c - 1, c) if 0 <= i < len(rows[r + 1])]
            out[key] = "".join(k for k in near if k)
    return out


def keyboard_neighbours(char: str, layout: str) -> str:
    """The letters around `char` on `layout` ("qwerty", "azerty", "qwertz"), in its case.

    Accented letters use their base key ("é" -> neighbours of "e"); other characters have none.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown keyboard layout {layout!r}; expected one of {sorted(LAYOUTS)}")
    if len(char) != 1:
        return ""
    near = _neighbour_map(layout).get(strip_accents(char.lower()), "")
    return near.upper() if char.isupper() else near
