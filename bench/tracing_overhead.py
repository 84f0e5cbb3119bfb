"""Latency tracing adds to a generation, with a live backend and with a dead one.

    .venv/bin/python bench/tracing_overhead.py [--runs 15] [--warmup 3] [--model local]

The same seeded request runs in each mode, one after the other in one process:
  off           tracing=None
  recorder      Langfuse (a recording fake of its server, in a process of its own)
  phoenix       a real Arize Phoenix as OTLP endpoint (when scripts/phoenix-venv.sh ran)
  black hole    Langfuse and an OTLP endpoint that accept connections and never answer
By default the model is a zero-latency OpenAI-compatible fake server (in this process),
so that what differs between modes is the tracing's own cost; `--model local` uses the
real SmolLM2-135M instead (the ratio a user sees; slower, noisier). Embeddings are off.
Prints median and p90 ms per mode with ratios to "off", then how long tracer.shutdown()
takes with each backend (its bound: TracingConfig.shutdown_timeout_s). Never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test servers (tests/servers) are reused here

from pipeline_overhead import chat  # noqa: E402  (bench/ is on sys.path)

from tests.servers.phoenix import phoenix_executable, start_phoenix  # noqa: E402
from tests.servers.run import free_port, python_module_args, run_subprocess  # noqa: E402
from utterly.generation import agenerate  # noqa: E402
from utterly.observability import Tracer, TracingConfig  # noqa: E402
from utterly.providers import ProviderConfig  # noqa: E402

PUBLIC_KEY, SECRET_KEY = "pk-lf-recorder-0123", "sk-lf-recorder-SECRET-4567"


@contextlib.contextmanager
def fake_llm():
    port = free_port()
    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(5)


@contextlib.contextmanager
def recorder(behaviour: str):
    """The recording Langfuse in a subprocess; yields its base URL."""
    port = free_port()
    args = python_module_args("tests.servers.langfuse_recorder", "--port", str(port),
                              "--behaviour", behaviour)
    with run_subprocess(args, port=port, env={"PYTHONPATH": str(ROOT)},
                        startup_timeout_s=60) as url:
        yield url


@contextlib.contextmanager
def phoenix():
    executable = phoenix_executable()
    if executable is None:
        yield None
        return
    working_dir = tempfile.mkdtemp(prefix="utterly-bench-phoenix-")
    with start_phoenix(executable, working_dir, working_dir + ".log") as url:
        yield url


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def measure(provider: ProviderConfig, tracers: list, runs: int, warmup: int
                  ) -> list[list[float]]:
    """Round-robin over the modes (one generation of each per round), so that a machine
    getting busier or quieter weighs on every mode alike."""
    async def once(tracer):
        return await agenerate("Where is my parcel?", locale="en", n=5, seed=1,
                               provider=provider, embeddings=None, tracing=tracer)

    for _ in range(warmup):
        for tracer in tracers:
            await once(tracer)
    samples: list[list[float]] = [[] for _ in tracers]
    for _ in range(runs):
        for i, tracer in enumerate(tracers):
            started = time.perf_counter()
            await once(tracer)
            samples[i].append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--model", choices=["fake", "local"], default="fake")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        if args.model == "local":
            provider = ProviderConfig(provider="local", model="smollm2-135m", n_ctx=2048)
            model_note = "the local SmolLM2-135M model (llama.cpp)"
        else:
            base_url = stack.enter_context(fake_llm())
            provider = ProviderConfig(provider="openai", model="gpt-4o-mini",
                                      base_url=base_url, api_key="bench")
            model_note = f"a zero-latency OpenAI-compatible fake server ({base_url})"
        live = stack.enter_context(recorder("normal"))
        dead = stack.enter_context(recorder("black_hole"))
        phoenix_url = stack.enter_context(phoenix())

        def langfuse(url: str, **extra) -> TracingConfig:
            return TracingConfig(langfuse_public_key=PUBLIC_KEY, langfuse_secret_key=SECRET_KEY,
                                 langfuse_host=url, **extra)

        modes: list[tuple[str, TracingConfig | None]] = [
            ("off", None), ("recorder (Langfuse, live)", langfuse(live))]
        if phoenix_url:
            modes.append(("phoenix (OTLP, live)", TracingConfig(otlp_endpoint=phoenix_url)))
        modes.append(("black hole (Langfuse + OTLP)", langfuse(dead, otlp_endpoint=dead)))

        tracers = [Tracer(config) if config else None for _, config in modes]
        samples = asyncio.run(measure(provider, tracers, args.runs, args.warmup))
        rows = [(name, s, tracer.dropped if tracer else 0)
                for (name, _), s, tracer in zip(modes, samples, tracers)]
        shutdowns = []
        for (name, config), tracer in zip(modes, tracers):
            if tracer is not None:
                started = time.perf_counter()
                tracer.shutdown()
                shutdowns.append((name, time.perf_counter() - started, tracer.dropped,
                                  config.shutdown_timeout_s))

    print(f"{args.runs} seeded generations per mode (round-robin) after {args.warmup} "
          f"warm-up, n=5, "
          f"embeddings off, model: {model_note}"
          + ("" if phoenix_url else "; Phoenix not installed (scripts/phoenix-venv.sh)"))
    base_median = statistics.median(rows[0][1])
    base_p90 = percentile(rows[0][1], 90)
    print("| mode | median ms | p90 ms | median / off | p90 / off | dropped so far |")
    print("|---|---|---|---|---|---|")
    for name, samples, dropped in rows:
        median, p90 = statistics.median(samples), percentile(samples, 90)
        print(f"| {name} | {median:.2f} | {p90:.2f} | {median / base_median:.2f}x | "
              f"{p90 / base_p90:.2f}x | {dropped} |")
    print()
    print("| tracer.shutdown() | seconds | bound | dropped by then |")
    print("|---|---|---|---|")
    for name, seconds, dropped, bound in shutdowns:
        print(f"| {name} | {seconds:.3f} | {bound:g} | {dropped} |")


if __name__ == "__main__":
    main()
