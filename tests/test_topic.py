"""What an FAQ is about, named by the model from its examples when no title is given: read
from the model's answer, and given to the prompt (not to the filters)."""

from __future__ import annotations

import pytest

from tests.servers.scripted_openai import SCRIPTED_API_KEY, prompt_text, run_scripted_openai
from utterly.generation import agenerate
from utterly.pipeline import PipelineSettings
from utterly.providers import ProviderConfig
from utterly.request import GenerationRequest
from utterly.topic import read_topic, topic_messages

REQUEST = GenerationRequest(sentences=["Où est mon colis ?", "Mon colis n'arrive pas"],
                            locale="fr")


@pytest.mark.parametrize("answer, topic", [
    ("Suivi de colis", "Suivi de colis"),
    ("Titre : Suivi de colis.\nLivraison", "Suivi de colis"),
    ('"Suivi du colis"', "Suivi du colis"),
    ("**Topic:** Parcel tracking", "Parcel tracking"),
    ("1. Suivi de colis", "Suivi de colis"),
    ("", None),
    ("...", None),
    ("Où est mon colis ?", None),  # an example again says nothing more
    ("x" * 200, None),
])
def test_the_topic_is_the_first_line_without_its_dressing(answer, topic):
    assert read_topic(answer, REQUEST) == topic


def test_the_topic_is_asked_in_the_examples_language():
    messages = topic_messages(REQUEST)
    assert "French" in messages[0]["content"] and "French" in messages[1]["content"]
    assert all(s in messages[1]["content"] for s in REQUEST.sentences)


async def test_a_request_without_title_gets_the_named_topic_in_its_prompt():
    script = ["Suivi de colis", "Je ne reçois pas mon colis", "Mon paquet est perdu"]
    with run_scripted_openai(script) as vendor:
        config = ProviderConfig(provider="openai", model="gpt-4o-mini", api_key=SCRIPTED_API_KEY,
                                base_url=vendor.base_url, read_env=False)
        result = await agenerate(REQUEST, provider=config, embeddings=None, tracing=None,
                                 settings=PipelineSettings(infer_topic=True, max_attempts=1))
        first, second = vendor.requests[0], vendor.requests[1]
    assert "title of an FAQ" in prompt_text(first)
    # the scripted answer's first line, "1. Suivi de colis", named the topic
    assert "Sujet : Suivi de colis" in prompt_text(second)
    assert result.usage.input_tokens > 0 and result.sentences


async def test_a_title_given_is_kept_and_no_topic_is_asked():
    with run_scripted_openai(["Je ne reçois pas mon colis"]) as vendor:
        config = ProviderConfig(provider="openai", model="gpt-4o-mini", api_key=SCRIPTED_API_KEY,
                                base_url=vendor.base_url, read_env=False)
        titled = REQUEST.model_copy(update={"title": "Livraison"})
        await agenerate(titled, provider=config, embeddings=None, tracing=None,
                        settings=PipelineSettings(infer_topic=True, max_attempts=1))
        prompts = [prompt_text(r) for r in vendor.requests]
    assert not any("title of an FAQ" in p for p in prompts)
    assert "Sujet : Livraison" in prompts[0]
