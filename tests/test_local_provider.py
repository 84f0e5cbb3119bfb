import json

import pytest

from utterly.errors import ErrorCode, ProviderError
from utterly.prompt import output_schema
from utterly.providers import ProviderConfig, create_provider

MESSAGES = [
    {"role": "system", "content": "You rewrite questions. Reply with JSON only."},
    {"role": "user", "content": 'Write 3 ways to ask "Where is my parcel?". '
                                'JSON: {"sentences": [...]}'},
]


async def test_schema_constrained_output_is_valid_json(local_provider):
    completion = await local_provider.complete(MESSAGES, temperature=0.7, max_tokens=200,
                                               json_schema=output_schema(3), seed=7)
    data = json.loads(completion.text)
    assert isinstance(data["sentences"], list) and 1 <= len(data["sentences"]) <= 3
    assert completion.structured
    assert completion.input_tokens > 20 and completion.output_tokens > 0
    assert completion.model == "smollm2-135m"


async def test_same_seed_same_output(local_provider):
    runs = [await local_provider.complete(MESSAGES, temperature=0.9, max_tokens=120,
                                          json_schema=output_schema(3), seed=42)
            for _ in range(2)]
    assert runs[0].text == runs[1].text


async def test_the_model_is_loaded_once_per_process(local_config):
    from utterly.providers import local

    a = create_provider(local_config)
    b = create_provider(local_config)
    assert a._engine() is b._engine()
    assert a._engine() in local._engines.values()


async def test_deadline_stops_a_long_generation(local_config):
    provider = create_provider(ProviderConfig(provider="local", model=local_config.model,
                                              n_ctx=local_config.n_ctx, timeout_s=0.2))
    with pytest.raises(ProviderError) as caught:
        await provider.complete(MESSAGES, temperature=0.7, max_tokens=1500, seed=1)
    assert caught.value.code == ErrorCode.TIMEOUT
    assert "timeout" in caught.value.hint


async def test_a_prompt_larger_than_the_context_is_classified(local_config):
    provider = create_provider(ProviderConfig(provider="local", model=local_config.model,
                                              n_ctx=256))
    long = [{"role": "user", "content": "Où est mon colis ? " * 200}]
    with pytest.raises(ProviderError) as caught:
        await provider.complete(long, temperature=0.5, max_tokens=20, seed=1)
    assert caught.value.code == ErrorCode.CONTEXT_TOO_LONG


async def test_check_reports_the_loaded_model(local_provider):
    result = await local_provider.check()
    assert result.ok and result.model == "smollm2-135m"
    assert result.details["path"].endswith(".gguf")


def test_unknown_local_model_is_classified():
    with pytest.raises(ProviderError) as caught:
        create_provider(ProviderConfig(provider="local", model="no-such-model"))
    assert caught.value.code == ErrorCode.MODEL_NOT_FOUND


def test_unknown_provider_is_a_configuration_error():
    with pytest.raises(ProviderError) as caught:
        create_provider(ProviderConfig(provider="bard"))
    assert caught.value.code == ErrorCode.CONFIGURATION
