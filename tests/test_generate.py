"""End to end on the real embedded model (SmolLM2 through llama.cpp): structure, not words."""

import pytest

import utterly
from utterly.normalize import normalize
from utterly.result import Origin, RejectReason


async def test_generate_on_the_local_model(local_config, local_embeddings):
    events = []
    result = await utterly.agenerate(
        ["Comment réinitialiser mon mot de passe ?"], locale="fr", n=5, seed=3,
        provider=local_config, embeddings=local_embeddings, sms_language=True,
        on_progress=events.append)
    assert 1 <= result.attempts <= 4
    assert 0 < len(result.sentences) <= 5
    keys = [normalize(s.text) for s in result.sentences]
    assert len(set(keys)) == len(keys)
    assert normalize("Comment réinitialiser mon mot de passe ?") not in keys
    for s in result.sentences:
        assert s.origin in (Origin.MODEL, Origin.TRANSFORMED)
        assert "similarity" in s.scores
    assert all(isinstance(r.reason, RejectReason) and r.detail for r in result.rejected)
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    assert result.provider == "local" and result.model == "smollm2-135m"
    assert result.latency_s > 0
    assert events[0]["event"] == "attempt" and events[-1]["event"] == "sentences"


async def test_same_seed_same_result(local_config, local_embeddings):
    runs = [await utterly.agenerate("Where is my parcel?", locale="en", n=3, seed=11,
                                    provider=local_config, embeddings=local_embeddings)
            for _ in range(2)]
    assert [s.text for s in runs[0].sentences] == [s.text for s in runs[1].sentences]


def test_the_sync_api_works_outside_an_event_loop(local_config):
    result = utterly.generate("Where is my parcel?", locale="en", n=2, seed=5,
                              provider=local_config, embeddings=None)
    assert result.sentences and result.provider == "local"


async def test_the_sync_api_refuses_inside_an_event_loop(local_config):
    with pytest.raises(RuntimeError, match="agenerate"):
        utterly.generate("Where is my parcel?", provider=local_config)


def test_bad_arguments_name_the_field():
    with pytest.raises(utterly.InvalidRequest) as caught:
        utterly.generate("Where is my parcel?", n=80)
    assert caught.value.field == "n"
