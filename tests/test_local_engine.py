"""The llama.cpp engine of the local provider, on the real SmolLM2-135M: a cached prompt
prefix that changes nothing but the time, parallel streams that can be stopped one by one."""

from __future__ import annotations

import json
import time

import pytest

from utterly.catalogue import resolve_model_path
from utterly.prompt import output_schema
from utterly.providers.local_engine import (
    CHUNK,
    Cancelled,
    ContextTooLong,
    DeadlineReached,
    Engine,
    Sampling,
)

from .conftest import TEST_MODEL

SYSTEM = {"role": "system", "content": "You rewrite questions. Reply with a numbered list."}


def messages(question: str) -> list[dict]:
    return [SYSTEM, {"role": "user", "content": f"Write 5 ways to ask: {question}"},
            {"role": "assistant", "content": "1."}]


@pytest.fixture(scope="module")
def engine():
    _, path = resolve_model_path(TEST_MODEL)
    engine = Engine(str(path), n_ctx=2048, n_threads=2, max_streams=4)
    yield engine
    engine.close()


def run(engine, prompts, *, seed=3, max_tokens=40, stop_stream=lambda s: False,
        stop_all=lambda: False, deadline=None, **sampling):
    texts = [""] * len(prompts)

    def on_text(stream, text):
        texts[stream] += text

    tokens = [engine.tokenize(engine.prompt_text(p)) for p in prompts]
    stats = engine.run(tokens, sampling=Sampling(temperature=0.8, seed=seed, **sampling),
                       max_tokens=max_tokens, on_text=on_text, stop_stream=stop_stream,
                       stop_all=stop_all, deadline=deadline)
    return texts, stats


def test_the_answer_continues_the_given_start(engine):
    text = engine.prompt_text(messages("Where is my parcel?"))
    assert text.endswith("<|im_start|>assistant\n1.")
    assert "Where is my parcel?" in text


def test_a_cached_prefix_changes_the_time_not_the_output(engine):
    parcel = [messages("Where is my parcel?")]
    first, stats = run(engine, parcel)
    assert stats.cached_tokens == 0 or stats.cached_tokens % CHUNK == 0
    run(engine, [messages("How do I reset my password?")])  # another prompt in between
    again, stats = run(engine, parcel)
    assert stats.cached_tokens > 0 and stats.cached_tokens % CHUNK == 0
    assert stats.evaluated_tokens < stats.streams[0].prompt_tokens
    assert again == first
    # a new engine, with nothing cached, writes the same
    _, path = resolve_model_path(TEST_MODEL)
    fresh = Engine(str(path), n_ctx=2048, n_threads=2, max_streams=4)
    try:
        assert run(fresh, parcel)[0] == first
    finally:
        fresh.close()


def test_streams_are_written_side_by_side_with_their_own_seeds(engine):
    prompts = [messages("Where is my parcel?")] * 3
    texts, stats = run(engine, prompts, max_tokens=30)
    assert len(texts) == 3 and all(texts)
    assert len(set(texts)) > 1  # same prompt, different samplers
    assert [s.output_tokens <= 30 for s in stats.streams] == [True] * 3
    # the same prompt is read once, each stream reading only its last token itself
    assert stats.prefix_tokens == stats.streams[0].prompt_tokens - 1


def test_one_stream_stops_while_the_others_go_on(engine):
    prompts = [messages("Where is my parcel?"), messages("Where is my order?")]
    texts, stats = run(engine, prompts, max_tokens=40, stop_stream=lambda s: s == 1)
    assert stats.streams[1].finish_reason == "cancelled"
    assert stats.streams[1].output_tokens == 1
    assert stats.streams[0].output_tokens > 1


def test_stop_all_and_the_deadline(engine):
    prompts = [messages("Where is my parcel?")] * 2
    with pytest.raises(Cancelled):  # stopped before it began (as it writes: below)
        run(engine, prompts, stop_all=lambda: True)
    with pytest.raises(DeadlineReached):
        run(engine, prompts, max_tokens=400, deadline=time.monotonic() + 0.3)


def test_a_json_schema_constrains_the_output(engine):
    prompt = [SYSTEM, {"role": "user",
                       "content": 'Write 3 ways to ask "Where is my parcel?" as JSON.'}]
    texts, _ = run(engine, [prompt], max_tokens=150,
                   json_schema=json.dumps(output_schema(3)))
    assert isinstance(json.loads(texts[0])["sentences"], list)


def test_limits_are_errors_not_crashes(engine):
    with pytest.raises(ValueError):
        run(engine, [messages("a")] * 5)
    with pytest.raises(ContextTooLong):
        run(engine, [messages("Où est mon colis ? " * 400)])


def test_stop_all_stops_the_writing_at_the_next_token(engine):
    """A Cancel reaches the model between two tokens, not at the end of the answer."""
    pieces = []

    def on_text(stream, text):
        pieces.append(text)

    tokens = [engine.tokenize(engine.prompt_text(messages("Where is my parcel?")))]
    stats = engine.run(tokens, sampling=Sampling(temperature=0.8, seed=3), max_tokens=400,
                       on_text=on_text, stop_stream=lambda s: False,
                       stop_all=lambda: len(pieces) >= 3)
    assert stats.streams[0].finish_reason == "cancelled"
    assert stats.streams[0].output_tokens == 3


def test_stop_all_stops_the_reading_of_a_long_prompt(engine):
    """A long prompt takes seconds to read on a busy CPU: it is read one chunk at a time,
    and a Cancel waits for one chunk, not for the whole prompt. The model is as good as
    before afterwards: the same prompt gives the same answer."""
    long = [SYSTEM, {"role": "user", "content": "Rewrite each question. " + " ".join(
        f"Question {i}: where is parcel number {i}?" for i in range(60))}]
    before, _ = run(engine, [messages("Where is my order?")], seed=5, max_tokens=12)
    asked = []

    def stop_all():
        asked.append(1)
        return len(asked) >= 3

    tokens = [engine.tokenize(engine.prompt_text(long))]
    assert len(tokens[0]) > 10 * CHUNK
    with pytest.raises(Cancelled):
        engine.run(tokens, sampling=Sampling(temperature=0.8, seed=3), max_tokens=40,
                   on_text=lambda s, t: None, stop_stream=lambda s: False, stop_all=stop_all)
    assert len(asked) == 3  # before taking the engine, then after one chunk of ten or more
    after, _ = run(engine, [messages("Where is my order?")], seed=5, max_tokens=12)
    assert after == before


def test_a_run_waiting_for_the_engine_gives_up_when_stopped(engine):
    """Another run holds the model: a cancelled one stops waiting for it (within the 0.1 s
    it waits between looks; 2 s allowed on a loaded machine)."""
    tokens = [engine.tokenize(engine.prompt_text(messages("Where is my parcel?")))]
    engine.lock.acquire()
    try:
        asked = time.monotonic()
        with pytest.raises(Cancelled):
            engine.run(tokens, sampling=Sampling(temperature=0.8, seed=3), max_tokens=40,
                       on_text=lambda s, t: None, stop_stream=lambda s: False,
                       stop_all=lambda: time.monotonic() >= asked + 0.3)
        assert time.monotonic() - asked - 0.3 < 2.0
    finally:
        engine.lock.release()
