"""The word tables in data/*.json, each read once.

    sms.json, abbreviations.json  {language: {"phrases": [{"match": [...], "write": [...],
                                   "weight"?: p}], "extra": [...], "ambiguous": [...],
                                   "tail"?: [...]}}  (see tables.py)
    vocabulary.json               {language: {"words": [...], "also_correct": [...]}}
    typos.json                    {language: [[correct, misspelling, how?], ...]}
                                   (see lexicon.py)
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load(name: str) -> dict[str, Any]:
    """data/`name`.json, parsed once; callers must not change what it returns."""
    path = resources.files(__package__) / "data" / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))
