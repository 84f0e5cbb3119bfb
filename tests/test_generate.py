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
    assert events[0]["event"] == "attempt"
    shown = [e["sentences"] for e in events if e["event"] == "sentences"]
    assert shown and shown[-1] == [s.text for s in result.sentences]
    assert result.first_sentence_s is not None and result.first_sentence_s <= result.latency_s


async def test_the_prompt_can_be_read_ahead_of_the_generation(local_config):
    """What the Studio does when its generate dialog opens: the model reads the prompt,
    and the generation of the same request then reads only its last few tokens."""
    from utterly.pipeline import PipelineSettings, _plan
    from utterly.providers import create_provider
    from utterly.providers.local_engine import CHUNK
    from utterly.request import GenerationRequest

    request = GenerationRequest.build(sentences=["Où est mon colis ?", "Colis pas reçu"],
                                      locale="fr", n=6, title="Suivi de colis")
    provider = create_provider(local_config)
    assert await utterly.aprepare(request, provider) is True
    engine = provider._engine()
    prompts = _plan(request, provider, PipelineSettings(), request.n, []).prompts
    stats = engine.prepare([engine.tokenize(engine.prompt_text(p)) for p in prompts])
    assert stats.prefix_tokens > CHUNK
    assert stats.evaluated_tokens < CHUNK <= stats.cached_tokens


async def test_remote_providers_are_not_called_to_read_ahead(faulty_server):
    from utterly.providers import ProviderConfig
    from utterly.request import GenerationRequest

    before = faulty_server.state.hits["ok"]
    config = ProviderConfig(provider="openai", model="gpt-4o-mini", api_key="sk-test",
                            base_url=f"{faulty_server.url}/ok/v1")
    request = GenerationRequest.build(sentences=["Where is my parcel?"], n=3)
    assert await utterly.aprepare(request, config) is False
    assert faulty_server.state.hits["ok"] == before


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


async def test_a_ready_request_gives_what_its_keywords_give(local_config, local_embeddings):
    """The CLI and the Studio build the request and the provider config once and hand them
    over; the result is the keywords' own."""
    from utterly.request import GenerationRequest

    keywords = {"locale": "fr", "n": 3, "seed": 7, "sms_language": True,
                "title": "Suivi de colis"}
    by_keywords = await utterly.agenerate("Où est mon colis ?", provider=local_config,
                                          embeddings=local_embeddings, **keywords)
    request = GenerationRequest.build(
        sentences=["Où est mon colis ?"], locale="fr", n=3, seed=7,
        options={"sms_language": True}, title="Suivi de colis")
    ready = await utterly.agenerate(request, provider=local_config,
                                    embeddings=local_embeddings)
    assert [s.text for s in ready.sentences] == [s.text for s in by_keywords.sentences]
    assert ready.seed == 7


def test_a_ready_request_takes_no_request_keyword():
    from utterly.request import GenerationRequest

    request = GenerationRequest.build(sentences=["Where is my parcel?"], n=3)
    with pytest.raises(TypeError, match="n, sms_language belong in the request"):
        utterly.generate(request, n=5, sms_language=True, provider="local")


def test_bad_arguments_name_the_field():
    with pytest.raises(utterly.InvalidRequest) as caught:
        utterly.generate("Where is my parcel?", n=80)
    assert caught.value.field == "n"


# Questions that have nothing to do with parcels or orders, the topic of the worked example
# the template once had (its structure came back for unrelated questions).
UNRELATED = [
    ("Comment réinitialiser mon mot de passe ?", "fr"), ("Quels sont vos horaires ?", "fr"),
    ("Je veux résilier mon abonnement", "fr"), ("Puis-je payer en trois fois ?", "fr"),
    ("How do I reset my password?", "en"), ("What are your opening hours?", "en"),
    ("I want to cancel my subscription", "en"), ("Can I pay in three instalments?", "en"),
]
# The template's own words that no user question about these topics would use.
TEMPLATE_WORDS = ("parcel", "package", "colis", "commande", "rewrite", "chatbot", "numbered",
                  "quotes", "comments", "subject", "everyday", "polite", "formulas", "formules")


async def test_the_prompt_never_leaks_into_the_sentences(local_config, local_embeddings):
    leaks = []
    for seed, (question, locale) in enumerate(UNRELATED):
        result = await utterly.agenerate(question, locale=locale, n=3, seed=seed,
                                         provider=local_config, embeddings=local_embeddings)
        for s in result.sentences:
            words = set(normalize(s.text).split())
            leaks += [(s.text, w) for w in TEMPLATE_WORDS if w in words]
    assert leaks == []
