"""What a model call costs: USD per million tokens, per model, extendable by users.

Extend or override with a JSON file named by UTTERLY_PRICES:
    {"my-model": {"input": 0.5, "output": 1.5}}
Models served locally (the embedded provider, Ollama) cost nothing.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache

from ..providers import PROVIDERS

# USD per 1M tokens (public list prices; check your contract).
PRICES: dict[str, dict[str, float]] = {
    "gpt-4o-mini": {"input": 0.15, "output": 0.60},
    "gpt-4o": {"input": 2.50, "output": 10.00},
    "gpt-4.1": {"input": 2.00, "output": 8.00},
    "gpt-4.1-mini": {"input": 0.40, "output": 1.60},
    "gpt-4.1-nano": {"input": 0.10, "output": 0.40},
    "gpt-3.5-turbo": {"input": 0.50, "output": 1.50},
    "text-embedding-3-small": {"input": 0.02, "output": 0.0},
    "text-embedding-3-large": {"input": 0.13, "output": 0.0},
}


@lru_cache(maxsize=4)
def _user_prices(path: str | None) -> dict[str, dict[str, float]]:
    if not path:
        return {}
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return {str(k): {"input": float(v.get("input", 0)), "output": float(v.get("output", 0))}
            for k, v in data.items()}


def price_table() -> dict[str, dict[str, float]]:
    return {**PRICES, **_user_prices(os.environ.get("UTTERLY_PRICES"))}


def _lookup(model: str, table: dict) -> dict[str, float] | None:
    if model in table:
        return table[model]
    # versioned names ("gpt-4o-mini-2024-07-18") cost what their family costs
    family = max((name for name in table if model.startswith(name + "-")), key=len, default=None)
    return table[family] if family else None


def cost_of(provider: str, model: str | None, input_tokens: int,
            output_tokens: int) -> dict[str, float] | None:
    """{"input", "output", "total"} in USD, or None when the model's price is unknown."""
    info = PROVIDERS.get(provider)
    if info is not None and info.free:
        return {"input": 0.0, "output": 0.0, "total": 0.0}
    price = _lookup(model or "", price_table())
    if price is None:
        return None
    cost_in = input_tokens * price["input"] / 1e6
    cost_out = output_tokens * price["output"] / 1e6
    return {"input": cost_in, "output": cost_out, "total": cost_in + cost_out}


def total_cost(provider: str, model: str | None, input_tokens: int,
               output_tokens: int) -> float | None:
    """A run's cost in USD as results and the Studio's history keep it, whether the run
    succeeded or failed after using tokens; None when the model's price is unknown."""
    cost = cost_of(provider, model, input_tokens, output_tokens)
    return None if cost is None else round(cost["total"], 6)
