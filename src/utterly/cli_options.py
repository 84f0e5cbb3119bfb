"""Options that several commands share (the CLI's and the Tock bridge's)."""

from __future__ import annotations

import click

from .providers import PROVIDERS

# Where each provider finds its key when --api-key is not given, as its module declares.
_KEY_ENVS = " / ".join(dict.fromkeys(info.key_env for info in PROVIDERS.values() if info.key_env))


def provider_options(func):
    """The provider options, each named after a ProviderConfig field: the command builds
    its config with `ProviderConfig(**provider_fields)`."""
    options = [
        click.option("--provider", type=click.Choice(list(PROVIDERS)), default="local",
                     show_default=True, help="Which engine writes the sentences."),
        click.option("--model", default=None,
                     help="Model name (local: a catalogue name or a .gguf path; "
                          "Azure: the deployment)."),
        click.option("--base-url", default=None,
                     help="Server URL (Ollama, or any OpenAI-compatible server)."),
        click.option("--api-key", default=None,
                     help=f"API key; default from {_KEY_ENVS}."),
        click.option("--azure-endpoint", default=None,
                     help="Azure OpenAI endpoint; default from AZURE_OPENAI_ENDPOINT."),
        click.option("--azure-deployment", default=None, help="Azure OpenAI deployment."),
        click.option("--api-version", default=None,
                     help="Azure OpenAI API version; default from OPENAI_API_VERSION."),
        click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.1), default=120.0,
                     show_default=True, help="Seconds allowed for one model call."),
    ]
    for option in reversed(options):
        func = option(func)
    return func
