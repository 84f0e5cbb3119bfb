"""Options that several commands share (the CLI's and the Tock bridge's)."""

from __future__ import annotations

import click

from .providers import PROVIDERS, ProviderField, setting_fields
from .providers.base import DEFAULT_TIMEOUT_S


def _envs(spec: ProviderField) -> list[str]:
    """Where the providers read this setting when it is not given: a key, from each
    provider's own variable."""
    if spec.name == "api_key":
        return list(dict.fromkeys(info.key_env for info in PROVIDERS.values() if info.key_env))
    return [spec.env] if spec.env else []


def _option(spec: ProviderField):
    envs = _envs(spec)
    help_text = spec.help + (f"; default from {' / '.join(envs)}." if envs else ".")
    return click.option("--" + spec.name.replace("_", "-"), spec.name, default=None,
                        help=help_text)


def provider_options(func):
    """The provider options, one per setting the registry's providers declare: the command
    builds its config with `ProviderConfig.of(**provider_fields)`."""
    options = [
        click.option("--provider", type=click.Choice(list(PROVIDERS)), default="local",
                     show_default=True, help="Which engine writes the sentences."),
        *(_option(spec) for spec in setting_fields()),
        click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.1),
                     default=DEFAULT_TIMEOUT_S, show_default=True,
                     help="Seconds allowed for one model call."),
    ]
    for option in reversed(options):
        func = option(func)
    return func
