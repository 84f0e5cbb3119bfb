"""A Tock request in Utterly's terms: the generation request, the provider, the tracing.

Tock Studio builds the `inputs` of a sentence generation from its own settings and the
pop-up (`locale`, `nb_sentences`, `sentences`, `options`); nothing else is read from them.
A provider from Tock's `llm_setting` never reads the bridge's environment (its keys are the
operator's) and connects only where the outbound policy allows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ErrorCode, InvalidRequest, ProviderError
from ..observability import TracingConfig
from ..outbound import OutboundPolicy, check_url
from ..providers import ProviderConfig
from ..request import MAX_EXAMPLES, GenerationRequest
from ..sentence_count import DEFAULT_SENTENCES, MAX_SENTENCES
from . import prompt as tock_prompt
from .contract import (
    AzureOpenAISetting,
    CompletionRequest,
    LangfuseSetting,
    OllamaSetting,
    OpenAISetting,
    RawSecretKey,
)

MAX_SECRET_FILE_BYTES = 64 * 1024


class SecretsDir:
    """Secret-manager references (`AwsSecretsManager`, `GcpSecretManager`) resolved from files
    under one folder, as a secrets manager's CSI driver or an orchestrator mounts them:
    `PROD/App/openai_key` is the file `<folder>/PROD/App/openai_key`. Nothing outside the
    folder can be named."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder).resolve()

    def resolve(self, name: str, field: str) -> str:
        parts = Path(name).parts
        path = (self.folder / name).resolve()
        if (Path(name).is_absolute() or ".." in parts
                or not path.is_relative_to(self.folder) or not path.is_file()):
            raise InvalidRequest(f"{field}: no secret named {name!r} in the bridge's secrets "
                                 "folder", field=field,
                                 hint="mount the secret as a file of that name in the folder "
                                      "given to --secrets-dir, or send a Raw key")
        data = path.read_bytes()[:MAX_SECRET_FILE_BYTES + 1]
        if len(data) > MAX_SECRET_FILE_BYTES:
            raise InvalidRequest(f"{field}: the secret {name!r} is too large", field=field,
                                 hint="a key file holds the key only")
        return data.decode("utf-8", "replace").strip()


def secret_value(key, field: str, secrets: SecretsDir | None) -> str | None:
    """The secret's value; a secret-manager reference only when the bridge was told where
    its secrets are mounted."""
    if key is None:
        return None
    if isinstance(key, RawSecretKey):
        return key.secret
    if secrets is None:
        raise InvalidRequest(
            f"{field}: a {key.type} reference cannot be resolved by this bridge", field=field,
            hint="choose a Raw key in Tock's settings, or start the bridge with "
                 "--secrets-dir where the secret is mounted as a file")
    return secrets.resolve(key.secret_name, field)


def provider_config(setting, *, outbound: OutboundPolicy, timeout_s: float,
                    secrets: SecretsDir | None = None) -> ProviderConfig:
    """Tock's provider setting as Utterly's, for the pass-through mode."""
    key = secret_value(setting.api_key, "llm_setting.api_key", secrets)
    common = dict(api_key=key, read_env=False, outbound=outbound, timeout_s=timeout_s)
    if setting.reasoning_effort and not isinstance(setting, OllamaSetting):
        common["reasoning_effort"] = setting.reasoning_effort
    if isinstance(setting, OpenAISetting):
        return ProviderConfig(provider="openai", model=setting.model,
                              base_url=check_url(setting.base_url, "llm_setting.base_url",
                                                 outbound), **common)
    if isinstance(setting, AzureOpenAISetting):
        return ProviderConfig(provider="azure-openai", model=setting.model,
                              azure_endpoint=check_url(str(setting.api_base),
                                                       "llm_setting.api_base", outbound),
                              azure_deployment=setting.deployment_name,
                              api_version=setting.api_version, **common)
    if isinstance(setting, OllamaSetting):
        return ProviderConfig(provider="ollama", model=setting.model,
                              base_url=check_url(setting.base_url, "llm_setting.base_url",
                                                 outbound), **common)
    raise ProviderError(ErrorCode.CONFIGURATION, f"unknown provider {setting.provider!r}",
                        provider=str(setting.provider))


def tracing_config(setting: LangfuseSetting | None, own: TracingConfig | None, *,
                   outbound: OutboundPolicy, secrets: SecretsDir | None = None
                   ) -> TracingConfig | None:
    """Where this generation's trace goes: the bridge's own destinations (`own`), and the
    Langfuse project Tock names, which takes the Langfuse place when both name one (it is
    the bot's own project)."""
    if setting is None:
        return own
    host = check_url(str(setting.url).rstrip("/"), "observability_setting.url", outbound)
    secret = secret_value(setting.secret_key, "observability_setting.secret_key", secrets)
    base = own or TracingConfig()
    return TracingConfig(
        langfuse_public_key=setting.public_key, langfuse_secret_key=secret,
        langfuse_host=host, otlp_endpoint=base.otlp_endpoint, otlp_headers=base.otlp_headers,
        capture_content=base.capture_content, export_timeout_s=base.export_timeout_s,
        max_queue_size=base.max_queue_size, shutdown_timeout_s=base.shutdown_timeout_s,
        outbound=outbound)


def provider_request_line(config: ProviderConfig) -> str:
    """The call a provider's failure is about, as Tock's errors name it in `info.request`."""
    if config.provider == "azure-openai":
        return (f"[POST] {config.azure_endpoint}/openai/deployments/{config.azure_deployment}"
                f"/chat/completions?api-version={config.api_version}")
    if config.provider == "ollama":
        return f"[POST] {config.base_url}/api/chat"
    if config.provider in ("openai", "openai-compatible"):
        return f"[POST] {config.base_url or 'https://api.openai.com/v1'}/chat/completions"
    return f"[{config.provider}] {config.model or 'default model'}"


@dataclass(frozen=True)
class Inputs:
    """What Tock's `inputs` say, checked."""

    sentences: list[str]
    locale: str
    nb_sentences: int
    options: dict[str, bool]


def read_inputs(inputs: dict) -> Inputs:
    def bad(name: str, problem: str, hint: str) -> InvalidRequest:
        return InvalidRequest(f"prompt.inputs.{name}: {problem}",
                              field=f"prompt.inputs.{name}", hint=hint)

    sentences = inputs.get("sentences")
    if not isinstance(sentences, list) or not all(isinstance(s, str) for s in sentences):
        raise bad("sentences", "must be a list of sentences",
                  "select at least one sentence of the FAQ in Tock's pop-up")
    sentences = [" ".join(s.split()) for s in sentences]
    sentences = list(dict.fromkeys(s for s in sentences if s))
    if not sentences:
        raise bad("sentences", "no sentence to start from",
                  "select at least one sentence of the FAQ in Tock's pop-up")
    locale = inputs.get("locale")
    if not isinstance(locale, str) or not locale.strip():
        raise bad("locale", "missing", "Tock sends the bot's locale, e.g. 'fr' or 'fr_FR'")
    count = inputs.get("nb_sentences", DEFAULT_SENTENCES)
    if isinstance(count, str) and count.strip().isdigit():
        count = int(count)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SENTENCES:
        raise bad("nb_sentences", f"{count!r} is not between 1 and {MAX_SENTENCES}",
                  f"set 'Number of sentences' to 1-{MAX_SENTENCES} in Tock's Sentence "
                  "generation settings")
    raw = inputs.get("options") or {}
    if not isinstance(raw, dict):
        raise bad("options", "must be an object", "Tock sends spelling_mistakes, "
                  "sms_language and abbreviated_language as booleans")
    options = {name: bool(raw.get(name, False))
               for name in ("spelling_mistakes", "sms_language", "abbreviated_language")}
    return Inputs(sentences=sentences, locale=locale, nb_sentences=count, options=options)


def generation_request(body: CompletionRequest, *, use_tock_prompt: bool,
                       context: dict | None = None) -> GenerationRequest:
    """Utterly's request for Tock's. `use_tock_prompt`: the model reads Tock's template as
    Tock renders it, instead of Utterly's own prompt. `context`: what a linked Studio bot
    knows (title, answer, other_intents)."""
    inputs = read_inputs(body.prompt.inputs)
    template = None
    if use_tock_prompt:
        text = tock_prompt.render(body.prompt.formatter, body.prompt.template,
                                  body.prompt.inputs)
        template = tock_prompt.as_utterly_template(text)
    return GenerationRequest.build(
        # Examples past Utterly's limit add little to a prompt and must not refuse a
        # request that Tock's own pop-up allowed.
        sentences=inputs.sentences[:MAX_EXAMPLES], locale=inputs.locale,
        n=inputs.nb_sentences,
        # Tock allows up to 2; past 1 models write noise more than new phrasings.
        temperature=min(1.0, body.llm_setting.temperature), options=inputs.options,
        prompt_template=template, **(context or {}))
