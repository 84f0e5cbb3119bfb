"""The pipeline's logic, with a scripted model so each case is exact.

The scripted provider stands in only for the model's words; cleaning, embeddings (the real
local embedder) and language detection are real. End-to-end runs on the real local model
are in test_generate.py.
"""

import asyncio
import json

import pytest

from utterly.errors import ErrorCode, ProviderError
from utterly.normalize import normalize
from utterly.pipeline import PipelineSettings, run_generation
from utterly.providers.base import Completion, Piece, TextStream, without_prefill
from utterly.request import GenerationRequest
from utterly.result import Origin, RejectReason
from utterly.variations import shows_variation

QUESTION = "Comment réinitialiser mon mot de passe ?"


class ScriptedProvider:
    name = "scripted"
    model = "script-1"

    def __init__(self, *answers: str):
        self.answers = list(answers)
        self.calls: list[list[dict]] = []
        self.temperatures: list[float] = []

    async def complete(self, messages, *, temperature, max_tokens, json_schema=None, seed=None):
        self.calls.append(messages)
        self.temperatures.append(temperature)
        text = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return Completion(text=text, model=self.model, input_tokens=100, output_tokens=20)

    async def check(self):  # pragma: no cover - not used here
        raise NotImplementedError

    async def aclose(self):
        pass


def answer(*sentences: str) -> str:
    return json.dumps({"sentences": list(sentences)}, ensure_ascii=False)


def request(n=3, **kwargs):
    return GenerationRequest.build(sentences=[QUESTION], locale="fr", n=n, seed=1, **kwargs)


def reasons(result):
    return {r.text: r.reason for r in result.rejected}


async def test_copies_duplicates_and_empties_are_rejected_with_reasons(local_embeddings):
    provider = ScriptedProvider(answer(
        "comment réinitialiser mon mot-de-passe", "Je veux changer mon mot de passe",
        "je veux changer mon mot de passe !", "  ", "J'ai oublié mon mot de passe, comment le changer ?",
        "x" * 250, "Mot de passe perdu, que dois-je faire ?"))
    result = await run_generation(request(n=3), provider, local_embeddings)
    why = reasons(result)
    assert why["comment réinitialiser mon mot-de-passe"] == RejectReason.COPY_OF_INPUT
    assert why["je veux changer mon mot de passe !"] == RejectReason.DUPLICATE
    assert why["x" * 250] == RejectReason.TOO_LONG
    kept = [s.text for s in result.sentences]
    assert "Je veux changer mon mot de passe" in kept
    assert len({normalize(t) for t in kept}) == len(kept)
    assert all(s.scores["similarity"] > 0 for s in result.sentences)
    assert result.attempts == 1 and result.usage.input_tokens == 100


async def test_asks_again_with_what_it_already_has(local_embeddings):
    provider = ScriptedProvider(
        answer("Je veux changer mon mot de passe", QUESTION),
        answer("J'ai oublié mon mot de passe, comment le réinitialiser ?",
               "Comment faire pour changer de mot de passe ?"))
    result = await run_generation(request(n=3), provider, local_embeddings)
    assert result.attempts == 2
    assert len(result.sentences) == 3
    second_prompt = provider.calls[1][-1]["content"]
    assert "Je veux changer mon mot de passe" in second_prompt
    assert result.usage.input_tokens == 200 and result.usage.output_tokens == 40


async def test_attempts_are_bounded_and_the_shortfall_is_reported(local_embeddings):
    provider = ScriptedProvider(answer("Je veux changer mon mot de passe"))
    result = await run_generation(request(n=4), provider, local_embeddings,
                                  settings=PipelineSettings(max_attempts=3))
    assert result.attempts == 3 and len(provider.calls) == 3
    assert len(result.sentences) == 1
    assert not result.complete
    assert any("only 1 of 4" in w for w in result.warnings)
    # the same warning as a code and its values, for a caller to word in its own language
    assert result.notices == [{"code": "too_few_passed",
                               "values": {"kept": 1, "requested": 4, "attempts": 3}}]
    assert sum(r.reason == RejectReason.DUPLICATE for r in result.rejected) == 2


async def test_output_without_sentences_is_an_invalid_response_not_a_success():
    provider = ScriptedProvider("I'm sorry, I cannot help with that.")
    with pytest.raises(ProviderError) as caught:
        await run_generation(request(n=2), provider, None)
    assert caught.value.code == ErrorCode.INVALID_RESPONSE
    assert len(provider.calls) == PipelineSettings().max_attempts


async def test_extra_valid_sentences_are_set_aside_as_surplus(local_embeddings):
    provider = ScriptedProvider(answer(
        "Je veux changer mon mot de passe", "J'ai oublié mon mot de passe, que faire ?",
        "Comment faire pour changer de mot de passe ?"))
    result = await run_generation(request(n=2), provider, local_embeddings)
    assert len(result.sentences) == 2
    assert [r.reason for r in result.rejected] == [RejectReason.SURPLUS]


async def test_an_answer_instead_of_a_paraphrase_is_drifted_meaning(local_embeddings):
    provider = ScriptedProvider(answer(
        "Je veux changer mon mot de passe",
        "Le musée du Louvre est ouvert tous les jours sauf le mardi.",
        "Quelle est la météo à Marseille demain ?"))
    result = await run_generation(request(n=1), provider, local_embeddings,
                                  settings=PipelineSettings(max_attempts=1))
    why = reasons(result)
    assert why["Le musée du Louvre est ouvert tous les jours sauf le mardi."] == \
        RejectReason.DRIFTED_MEANING
    assert why["Quelle est la météo à Marseille demain ?"] == RejectReason.DRIFTED_MEANING


async def test_another_language_is_rejected(local_embeddings):
    provider = ScriptedProvider(answer(
        "How can I reset the password of my account please?",
        "Je veux changer mon mot de passe"))
    result = await run_generation(request(n=1), provider, local_embeddings,
                                  settings=PipelineSettings(max_attempts=1))
    assert reasons(result)["How can I reset the password of my account please?"] == \
        RejectReason.WRONG_LANGUAGE


@pytest.mark.parametrize("option", ["sms_language", "abbreviated_language", "spelling_mistakes"])
async def test_ignored_options_are_still_honoured_by_transformation(option, local_embeddings):
    provider = ScriptedProvider(answer(
        "Je veux changer mon mot de passe", "J'ai oublié mon mot de passe, que faire ?",
        "Comment faire pour changer de mot de passe ?",
        "Pouvez-vous m'aider à réinitialiser mon mot de passe ?"))
    result = await run_generation(request(n=4, options={option: True}), provider,
                                  local_embeddings)
    showing = [s for s in result.sentences if shows_variation(s.text, "fr", option)
               or option in s.variations]
    assert len(showing) >= 2  # half of four
    transformed = [s for s in result.sentences if s.origin == Origin.TRANSFORMED]
    assert transformed and all(s.source_text and option in s.variations for s in transformed)
    assert all(s.text != s.source_text for s in transformed)
    assert len({normalize(s.text) for s in result.sentences}) == 4
    assert not [n for n in result.notices if n["code"].startswith("variation_")]


async def test_a_variation_that_finds_nothing_to_change_says_so(local_embeddings):
    # French abbreviations shorten table phrases ("mot de passe" -> "mdp"); none of these
    # sentences holds one, so none can show the option asked for.
    provider = ScriptedProvider(answer(
        "Quand arrive mon colis ?", "Mon colis est en retard",
        "Je ne reçois toujours pas mon colis", "Comment suivre mon colis ?"))
    parcel = GenerationRequest.build(sentences=["Où est mon colis ?"], locale="fr", n=3, seed=1,
                                     options={"abbreviated_language": True,
                                              "sms_language": True})
    result = await run_generation(parcel, provider, local_embeddings)
    assert len(result.sentences) == 3
    assert all("abbreviated_language" not in s.variations for s in result.sentences)
    # SMS always has a way (a closing "stp"): applied as asked, and not reported
    assert sum("sms_language" in s.variations for s in result.sentences) >= 2
    assert result.notices == [{"code": "variation_short", "values": {
        "variation": "abbreviated_language", "shown": 0, "kept": 3, "target": 2}}]
    assert "abbreviated language was applied to 0 of 3 sentences (2 aimed for)" in \
        result.warnings[0]


async def test_a_variation_without_a_table_for_the_language_says_so(local_embeddings):
    provider = ScriptedProvider(answer("Dov'è il mio pacco?", "Quando arriva il mio pacco?"))
    parcel = GenerationRequest.build(sentences=["Dove si trova il mio pacco?"], locale="it",
                                     n=2, seed=1, options={"sms_language": True})
    result = await run_generation(parcel, provider, local_embeddings)
    assert len(result.sentences) == 2
    assert result.notices == [{"code": "variation_no_table",
                               "values": {"variation": "sms_language", "language": "it"}}]


async def test_a_broken_embedder_degrades_with_a_warning():
    class BrokenEmbeddings:
        name, model = "broken", "none"

        async def embed(self, texts):
            raise ProviderError(ErrorCode.UNREACHABLE, "embedding server down")

        async def aclose(self):
            pass

    provider = ScriptedProvider(answer("Je veux changer mon mot de passe"))
    result = await run_generation(request(n=1), provider, BrokenEmbeddings())
    assert [s.text for s in result.sentences] == ["Je veux changer mon mot de passe"]
    assert any("embedding server down" in w for w in result.warnings)
    assert result.notices[0] == {"code": "embeddings_skipped",
                                 "values": {"reason": "embedding server down"}}


async def test_the_cleaner_rejects_empty_and_wordless_candidates():
    from utterly.clean import Cleaner

    cleaner = Cleaner(inputs=[QUESTION], locale="fr")
    rejected = await cleaner.add(["   ", "?!", "Je veux changer mon mot de passe"])
    assert [r.reason for r in rejected] == [RejectReason.EMPTY, RejectReason.EMPTY]
    assert [s.text for s in cleaner.kept] == ["Je veux changer mon mot de passe"]


async def test_each_retry_is_a_little_warmer_and_capped(local_embeddings):
    provider = ScriptedProvider(answer("Je veux changer mon mot de passe"))
    await run_generation(request(n=4, temperature=0.8), provider, local_embeddings)
    assert provider.temperatures == pytest.approx([0.8, 0.95, 1.0])


async def test_a_sentence_extending_another_is_a_near_duplicate():
    from utterly.clean import Cleaner

    cleaner = Cleaner(inputs=["How do I change my delivery address?"], locale="en")
    first = "To change your delivery address, what should I do?"
    rejected = await cleaner.add([
        first, first + " I tried the app and the website but nothing works for me at all."])
    assert [r.reason for r in rejected] == [RejectReason.NEAR_DUPLICATE]
    assert [s.text for s in cleaner.kept] == [first]


async def test_a_reply_or_the_bot_speaking_is_rejected_as_bot_voice(local_embeddings):
    provider = ScriptedProvider(answer(
        "Je veux changer mon mot de passe",
        "Bien sûr, cliquez sur « Mot de passe oublié ».",
        "Avez-vous réinitialisé votre mot de passe ?"))
    result = await run_generation(request(n=1), provider, local_embeddings,
                                  settings=PipelineSettings(max_attempts=1))
    assert [s.text for s in result.sentences] == ["Je veux changer mon mot de passe"]
    why = reasons(result)
    assert why["Bien sûr, cliquez sur « Mot de passe oublié »."] == RejectReason.BOT_VOICE
    assert why["Avez-vous réinitialisé votre mot de passe ?"] == RejectReason.BOT_VOICE


# ---- answers written side by side, read as they come -------------------------------------

class StreamingProvider:
    """Writes each answer a line at a time, round-robin over the streams, like the local
    model; records what the pipeline stopped."""

    name = "streaming"
    model = "stream-1"
    max_streams = 3

    def __init__(self, *answers: list[str]):
        self.answers = answers  # one list of lines per stream
        self.prompts: list[list[dict]] = []
        self.streams: list[TextStream] = []

    def stream(self, prompts, *, temperature, max_tokens, seed):
        provider = self

        class Scripted(TextStream):
            prefilled = True

            async def _pieces(self):
                lines = [list(provider.answers[i % len(provider.answers)])
                         for i in range(len(self.prompts))]
                self.closed_early = False
                while any(lines):
                    for i, todo in enumerate(lines):
                        if todo and i not in self.stopped:
                            yield Piece(i, todo.pop(0) + "\n")
                        elif todo:
                            todo.clear()
                            self.finish_reasons[i] = "cancelled"
                for i in range(len(self.prompts)):
                    self.finish_reasons[i] = self.finish_reasons[i] or "stop"

        provider.prompts.extend(prompts)
        stream = Scripted(prompts)
        self.streams.append(stream)
        return stream

    async def check(self):  # pragma: no cover - not used here
        raise NotImplementedError

    async def aclose(self):
        pass


async def test_streams_are_judged_as_they_come_and_stop_at_n(local_embeddings):
    provider = StreamingProvider(
        [" Je veux changer mon mot de passe", "2. J'ai oublié mon mot de passe, que faire ?",
         "3. Mot de passe perdu, comment le retrouver ?"],
        [" Comment faire pour changer de mot de passe ?", "2. Je veux changer mon mot de passe",
         "3. Aidez-moi à réinitialiser mon mot de passe"],
        [" Je n'arrive plus à me connecter, mot de passe oublié",
         "2. Réinitialisation du mot de passe, svp"])
    events = []
    result = await run_generation(request(n=4), provider, local_embeddings,
                                  on_progress=events.append)
    assert result.attempts == 1 and len(result.sentences) == 4
    # three prompts, one per stream; the default template asks them all the same thing
    assert len(provider.prompts) == 3 and len({p[1]["content"] for p in provider.prompts}) == 1
    assert all(p[-1] == {"role": "assistant", "content": "1."} for p in provider.prompts)
    # the first round-robin line of each stream came first: stream order is kept
    assert [s.text for s in result.sentences][:3] == [
        "Je veux changer mon mot de passe", "Comment faire pour changer de mot de passe ?",
        "Je n'arrive plus à me connecter, mot de passe oublié"]
    # counts never exceed the request, and every kept sentence was shown as it came
    kept_events = [e for e in events if e["event"] == "sentences"]
    assert [e["kept"] for e in kept_events] == [1, 2, 3, 4]
    assert all(e["kept"] <= e["requested"] == 4 for e in events if "kept" in e)
    assert kept_events[-1]["sentences"] == [s.text for s in result.sentences]
    assert result.first_sentence_s is not None and result.first_sentence_s <= result.latency_s
    # what was written after the fourth was not read: the stream was left at once
    assert not any(r.reason == RejectReason.SURPLUS for r in result.rejected)
    written = sum(len(t.splitlines()) for t in provider.streams[0].texts)
    assert written < sum(len(a) for a in provider.answers)


async def test_a_variation_is_applied_when_the_sentence_is_kept(local_embeddings):
    provider = StreamingProvider(
        [" Je veux changer mon mot de passe", "2. J'ai oublié mon mot de passe, que faire ?"],
        [" Comment faire pour changer de mot de passe ?",
         "2. Pouvez-vous m'aider à réinitialiser mon mot de passe ?"])
    events = []
    result = await run_generation(request(n=4, options={"sms_language": True}), provider,
                                  local_embeddings, on_progress=events.append)
    shown = [e["sentences"] for e in events if e["event"] == "sentences"]
    # what was shown while writing is what the result holds: no late rewrite
    for i, sentences in enumerate(shown):
        assert sentences == [s.text for s in result.sentences][:i + 1]
    assert sum(1 for s in result.sentences if shows_variation(s.text, "fr", "sms_language")) >= 2


async def test_a_candidate_of_another_faq_is_rejected_naming_it(local_embeddings):
    provider = ScriptedProvider(answer(
        "Je veux changer mon mot de passe", "Où en est ma commande ?",
        "Quand vais-je recevoir mon colis ?"))
    others = [{"name": "Suivi de commande",
               "sentences": ["Où est ma commande ?", "Quand arrive mon colis ?"]}]
    result = await run_generation(request(n=1, other_intents=others, title="Mot de passe"),
                                  provider, local_embeddings,
                                  settings=PipelineSettings(max_attempts=1))
    assert [s.text for s in result.sentences] == ["Je veux changer mon mot de passe"]
    rejected = {r.text: r for r in result.rejected}
    for text in ("Où en est ma commande ?", "Quand vais-je recevoir mon colis ?"):
        assert rejected[text].reason in (RejectReason.OTHER_INTENT, RejectReason.SURPLUS)
    assert rejected["Où en est ma commande ?"].reason == RejectReason.OTHER_INTENT
    assert "Suivi de commande" in rejected["Où en est ma commande ?"].detail


async def test_stopping_on_request_keeps_what_was_kept(local_embeddings):
    provider = StreamingProvider(
        [" Je veux changer mon mot de passe", "2. J'ai oublié mon mot de passe, que faire ?",
         "3. Mot de passe perdu, comment le retrouver ?"])
    kept = []
    result = await run_generation(
        request(n=3), provider, local_embeddings,
        on_progress=lambda e: kept.append(e) if e["event"] == "sentences" else None,
        should_stop=lambda: len(kept) >= 1)
    assert result.stopped == "cancelled" and result.attempts == 1
    assert [s.text for s in result.sentences] == ["Je veux changer mon mot de passe"]
    assert any("stopped on request" in w for w in result.warnings)
    assert result.notices == [{"code": "cancelled", "values": {"kept": 1}}]


class TimingOut(StreamingProvider):
    """Writes its lines, then the model runs out of time."""

    def stream(self, prompts, **kwargs):
        inner = super().stream(prompts, **kwargs)
        pieces = inner._pieces

        async def then_timeout():
            async for piece in pieces():
                yield piece
            raise ProviderError(ErrorCode.TIMEOUT, "the local model did not finish")

        inner._pieces = then_timeout
        return inner


async def test_a_timeout_keeps_the_sentences_ready_by_then(local_embeddings):
    provider = TimingOut([" Je veux changer mon mot de passe",
                          "2. J'ai oublié mon mot de passe, que faire ?"])
    result = await run_generation(request(n=5), provider, local_embeddings)
    assert result.stopped == "timeout" and len(result.sentences) == 2
    assert any("did not finish in time" in w for w in result.warnings)
    assert result.notices == [{"code": "timed_out", "values": {"kept": 2}}]
    with pytest.raises(ProviderError) as caught:
        await run_generation(request(n=5), TimingOut([]), local_embeddings)
    assert caught.value.code == ErrorCode.TIMEOUT


# ---- the run's own trace, and its deadline -------------------------------------------------

async def test_the_trace_holds_each_call_its_prompt_raw_answer_and_problems(local_embeddings):
    provider = ScriptedProvider(
        "Voici : " + answer("Je veux changer mon mot de passe", QUESTION),
        "I'm sorry, I cannot help.",
        answer("J'ai oublié mon mot de passe, comment le réinitialiser ?"))
    result = await run_generation(request(n=2), provider, local_embeddings)
    assert [r["attempt"] for r in result.trace] == [1, 2, 3]
    first, second, third = result.trace
    # the prompt recorded is the one sent (a remote model is not sent the answer's start,
    # which only the local model continues), and the answer is the raw text, unparsed
    assert without_prefill(first["prompts"][0]) == provider.calls[0]
    assert len(first["prompts"]) == 1 and first["prefilled"] is False
    assert first["answers"] == ["Voici : " + answer("Je veux changer mon mot de passe",
                                                     QUESTION)]
    assert first["kept"] == 1 and first["rejected"] == 1
    assert first["input_tokens"] == 100 and first["output_tokens"] == 20
    assert first["latency_s"] >= 0 and first["finish_reasons"] == ["stop"]
    assert second["answers"] == ["I'm sorry, I cannot help."] and second["kept"] == 0
    assert second["parse_problems"], "an answer with no sentence says why"
    # and says it by code and values too, for the Studio to word it in the page's language
    assert second["parse_notes"] == [{"code": "nothing_found",
                                      "values": {"summary": "I'm sorry, I cannot help."}}]
    assert third["kept"] == 1 and len(result.sentences) == 2
    assert all(not k.startswith("_") for r in result.trace for k in r)
    assert result.to_dict()["trace"] == result.trace


async def test_trace_texts_are_capped(local_embeddings):
    from utterly.pipeline import TRACE_TEXT_CHARS

    rambling = answer("Je veux changer mon mot de passe", *["bla " * 50] * 100)
    result = await run_generation(request(n=1), ScriptedProvider(rambling), local_embeddings,
                                  settings=PipelineSettings(max_attempts=1))
    assert len(rambling) > TRACE_TEXT_CHARS
    text = result.trace[0]["answers"][0]
    assert len(text) < TRACE_TEXT_CHARS + 40 and text.endswith("more]")


async def test_a_failed_generation_carries_its_trace():
    provider = ScriptedProvider("I'm sorry, I cannot help with that.")
    with pytest.raises(ProviderError) as caught:
        await run_generation(request(n=2), provider, None)
    trace = caught.value.trace
    assert len(trace) == PipelineSettings().max_attempts
    assert trace[0]["answers"] == ["I'm sorry, I cannot help with that."]


class Silent(StreamingProvider):
    """Writes its lines, then never another word (a server that hangs)."""

    def stream(self, prompts, **kwargs):
        inner = super().stream(prompts, **kwargs)
        pieces = inner._pieces

        async def then_hang():
            async for piece in pieces():
                yield piece
            await asyncio.sleep(3600)

        inner._pieces = then_hang
        return inner


async def test_the_deadline_bounds_the_whole_generation(local_embeddings):
    import time

    started = time.perf_counter()
    with pytest.raises(ProviderError) as caught:
        await run_generation(request(n=3), Silent([]), local_embeddings,
                             settings=PipelineSettings(deadline_s=0.5))
    assert time.perf_counter() - started < 3
    assert caught.value.code == ErrorCode.TIMEOUT and "0.5 s" in caught.value.message
    assert caught.value.trace[0]["error"]["code"] == "timeout"
    # with sentences ready by then, they are the result
    result = await run_generation(
        request(n=3), Silent([" Je veux changer mon mot de passe"]), local_embeddings,
        settings=PipelineSettings(deadline_s=0.5))
    assert result.stopped == "timeout"
    assert [s.text for s in result.sentences] == ["Je veux changer mon mot de passe"]


class ReadThenHang(Silent):
    """Counts the prompt's tokens as it reads it and each line's as it writes it (as the
    local model does), then never another word."""

    def stream(self, prompts, **kwargs):
        inner = super().stream(prompts, **kwargs)
        pieces = inner._pieces

        async def counted():
            inner.input_tokens = 704
            async for piece in pieces():
                inner.output_tokens += 34
                yield piece

        inner._pieces = counted
        return inner


async def test_a_call_cut_short_at_the_deadline_counts_its_tokens(local_embeddings):
    """Issue 25: a run stopped at its time limit showed 0 + 0 tokens, while its trace said
    its call had used 704 + 68: the tokens of a call cut short were never added."""
    # the filters' models loaded first: the judging then fits in the deadline
    await run_generation(request(n=1), ScriptedProvider(answer("Mot de passe oublié")),
                         local_embeddings)
    result = await run_generation(
        request(n=3), ReadThenHang([" Je veux changer mon mot de passe"]), local_embeddings,
        settings=PipelineSettings(deadline_s=0.5))
    assert result.stopped == "timeout"
    call, = result.trace
    # 34 per line written, by each of the streams side by side
    assert call["input_tokens"] == 704 and call["output_tokens"] % 34 == 0
    assert (result.usage.input_tokens, result.usage.output_tokens) == (
        call["input_tokens"], call["output_tokens"])
    # with nothing kept, the failure carries them
    with pytest.raises(ProviderError) as caught:
        await run_generation(request(n=3), ReadThenHang([]), local_embeddings,
                             settings=PipelineSettings(deadline_s=0.5))
    assert caught.value.code == ErrorCode.TIMEOUT
    assert (caught.value.usage.input_tokens, caught.value.usage.output_tokens) == (704, 0)
    assert caught.value.trace[0]["input_tokens"] == 704


async def test_a_stop_says_why_when_the_caller_does(local_embeddings):
    """`should_stop()` may return a word instead of True: the result's `stopped` (the
    Studio tells a Cancel from a client that left)."""
    provider = StreamingProvider(
        [" Je veux changer mon mot de passe", "2. J'ai oublié mon mot de passe, que faire ?",
         "3. Mot de passe perdu, comment le retrouver ?"])
    kept = []
    result = await run_generation(
        request(n=3), provider, local_embeddings,
        on_progress=lambda e: kept.append(e) if e["event"] == "sentences" else None,
        should_stop=lambda: "closed" if kept else None)
    assert result.stopped == "closed" and len(result.sentences) == 1
    assert result.notices == [{"code": "cancelled", "values": {"kept": 1}}]
    # stopped while waiting for the provider, it says the same
    hung = await run_generation(request(n=3), Silent([]), local_embeddings,
                                should_stop=lambda: "closed")
    assert hung.stopped == "closed"


async def test_the_closest_other_faqs_are_named_in_the_prompt(local_embeddings):
    provider = ScriptedProvider(answer("J'ai perdu mon mot de passe", "Mot de passe oublié",
                                       "Je ne retrouve plus mon mot de passe"))
    others = [{"name": "Horaires", "sentences": ["Quand êtes-vous ouverts ?"]},
              {"name": "Identifiant oublié",
               "sentences": ["J'ai oublié mon identifiant", "Comment retrouver mon login ?"]},
              {"name": "Livraison", "sentences": ["Où est mon colis ?"]},
              {"name": "Changer d'e-mail",
               "sentences": ["Comment modifier mon adresse e-mail de connexion ?"]}]
    await run_generation(request(other_intents=others, title="Mot de passe"), provider,
                         local_embeddings, settings=PipelineSettings(neighbours=2))
    prompt = provider.calls[0][1]["content"]
    # the two about logging in, each with its sentence closest to the password question
    assert "- Identifiant oublié : " in prompt and "- Changer d'e-mail : " in prompt
    assert "Horaires" not in prompt and "Livraison" not in prompt

    provider = ScriptedProvider(answer("J'ai perdu mon mot de passe"))
    await run_generation(request(other_intents=others, title="Mot de passe"), provider,
                         local_embeddings, settings=PipelineSettings(neighbours=0))
    assert "Identifiant" not in provider.calls[0][1]["content"]
