"""An OpenAI-compatible chat server with a fixed latency and room for `capacity` calls at
once, as a provider's rate limit: a call beyond it gets OpenAI's 429 (`rate_limit_exceeded`,
Retry-After). It answers with plain rewordings of the prompt's example messages, so that
generations succeed without a model, and it keeps what the capacity bench and the fleet
tests look at: calls in flight at most, seconds busy, 429s, and when each call ran and
for which example.

`/stats` (GET) returns them; `/reset` (POST) clears them and may set `latency_s`,
`capacity`, and `hang` (calls then never answer: a dead provider).
"""

from __future__ import annotations

import asyncio
import json
import re
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

WRAPPERS = ("{s}", "please, {s}", "{s}, please", "I would like to know: {s}",
            "quick question: {s}", "can you help? {s}", "hello, {s}", "{s} thanks",
            "one thing: {s}", "tell me, {s}", "{s}, if you can", "so, {s}")


def _sources(messages: list[dict]) -> list[str]:
    user = "\n".join(m.get("content") or "" for m in messages if m.get("role") == "user")
    lines = re.findall(r"^- (.+)$", user, re.MULTILINE)
    return [line for line in lines if not line.startswith(("Same meaning", "Change the",
                                                           "Written like", "Some "))]


def create_app(latency_s: float = 1.0, capacity: int = 8) -> FastAPI:
    app = FastAPI()
    app.state.config = {"latency_s": latency_s, "capacity": capacity, "hang": False}

    def reset(**config) -> None:
        app.state.config.update(config)
        app.state.in_flight = 0
        app.state.stats = {"calls": 0, "ok": 0, "rate_limited": 0, "max_in_flight": 0,
                           "busy_s": 0.0, "spans": [], "models": {}}

    reset()

    @app.post("/reset")
    async def do_reset(request: Request):
        body = await request.json() if await request.body() else {}
        reset(**{k: v for k, v in body.items() if k in app.state.config})
        return {"config": app.state.config}

    @app.get("/stats")
    async def stats():
        return app.state.stats

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await request.json()
        stats, config = app.state.stats, app.state.config
        stats["calls"] += 1
        if app.state.in_flight >= config["capacity"]:
            stats["rate_limited"] += 1
            return JSONResponse(
                {"error": {"message": "Rate limit reached for requests", "type": "requests",
                           "param": None, "code": "rate_limit_exceeded"}},
                status_code=429, headers={"retry-after": "1"})
        app.state.in_flight += 1
        stats["max_in_flight"] = max(stats["max_in_flight"], app.state.in_flight)
        started = time.monotonic()
        sources = _sources(body.get("messages", [])) or ["where is my order"]
        try:
            if config["hang"]:
                while not await request.is_disconnected():
                    await asyncio.sleep(0.05)
                return JSONResponse({}, status_code=499)
            await asyncio.sleep(config["latency_s"])
        finally:
            app.state.in_flight -= 1
            ended = time.monotonic()
            stats["busy_s"] += ended - started
            # when each call ran, and the first example it was about
            stats["spans"].append([time.time() - (ended - started), time.time(), sources[0]])
        stats["ok"] += 1
        model = body.get("model", "")
        stats["models"][model] = stats["models"].get(model, 0) + 1
        sentences = [w.format(s=sources[i % len(sources)].rstrip("?. "))
                     for i, w in enumerate(WRAPPERS)]
        content = json.dumps({"sentences": sentences})
        return {"id": "chatcmpl-capacity", "object": "chat.completion",
                "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                             "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": 50, "completion_tokens": 40, "total_tokens": 90}}

    return app
