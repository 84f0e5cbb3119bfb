"""The bodies Tock Studio's orchestrator client sends and reads (Tock 26.3), as pydantic
models: field names, discriminators and bounds follow Tock's orchestrator, so that a body it
accepts is accepted here and one it refuses with a 422 is refused the same way.

Unknown fields are ignored, as Tock's server ignores them (a newer Tock may send more).
Strings are bounded so that no body can make the bridge hold more than a few megabytes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AnyUrl, BaseModel, ConfigDict, Field, HttpUrl

MAX_SECRET_CHARS = 4096
MAX_NAME_CHARS = 512
MAX_URL_CHARS = 2048
MAX_TEMPLATE_CHARS = 50_000


class LLMProvider(StrEnum):
    OPEN_AI = "OpenAI"
    AZURE_OPEN_AI_SERVICE = "AzureOpenAIService"
    OLLAMA = "Ollama"


# Every provider Tock's orchestrator knows: a status check for one that the bridge does not
# serve is "unknown provider" (2000) only when Tock would say so too.
TOCK_LLM_PROVIDERS = ("OpenAI", "AzureOpenAIService", "FakeLLM", "Ollama")
OBSERVABILITY_PROVIDERS = ("Langfuse",)


class RawSecretKey(BaseModel):
    type: Literal["Raw"] = "Raw"
    secret: str = Field(min_length=1, max_length=MAX_SECRET_CHARS, repr=False)


class AwsSecretKey(BaseModel):
    type: Literal["AwsSecretsManager"] = "AwsSecretsManager"
    secret_name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)


class GcpSecretKey(BaseModel):
    type: Literal["GcpSecretManager"] = "GcpSecretManager"
    secret_name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)


SecretKey = Annotated[RawSecretKey | AwsSecretKey | GcpSecretKey, Field(discriminator="type")]


class _Setting(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # Tock sends it as a JSON string ("0.7"); pydantic reads the number in it.
    temperature: float = Field(ge=0, le=2)
    reasoning_effort: str | None = Field(default=None, max_length=MAX_NAME_CHARS)


class OpenAISetting(_Setting):
    provider: Literal["OpenAI"]
    api_key: SecretKey
    model: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    base_url: str = Field(default="https://api.openai.com/v1", max_length=MAX_URL_CHARS)


class AzureOpenAISetting(_Setting):
    provider: Literal["AzureOpenAIService"]
    api_key: SecretKey
    deployment_name: str = Field(max_length=MAX_NAME_CHARS)
    model: str | None = Field(default=None, max_length=MAX_NAME_CHARS)
    api_base: HttpUrl
    api_version: str = Field(max_length=MAX_NAME_CHARS)


class OllamaSetting(_Setting):
    provider: Literal["Ollama"]
    api_key: SecretKey | None = None
    model: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    base_url: str = Field(default="http://localhost:11434", max_length=MAX_URL_CHARS)


LLMSetting = Annotated[OpenAISetting | AzureOpenAISetting | OllamaSetting,
                       Field(discriminator="provider")]


class LangfuseSetting(BaseModel):
    model_config = ConfigDict(extra="ignore")

    provider: Literal["Langfuse"]
    url: AnyUrl = AnyUrl("http://localhost:3000")
    public_url: AnyUrl | None = None
    secret_key: SecretKey
    public_key: str = Field(max_length=MAX_NAME_CHARS)


ObservabilitySetting = Annotated[LangfuseSetting, Field(discriminator="provider")]


class PromptFormatter(StrEnum):
    F_STRING = "f-string"
    JINJA2 = "jinja2"


class PromptTemplate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    formatter: PromptFormatter
    template: str = Field(max_length=MAX_TEMPLATE_CHARS)
    # Tock's orchestrator takes any dict here; what sentence generation reads of it is
    # checked when the request is translated (`translate.generation_request`).
    inputs: dict


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    llm_setting: LLMSetting
    prompt: PromptTemplate
    observability_setting: ObservabilitySetting | None = None


class LLMStatusRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    setting: LLMSetting
    observability_setting: ObservabilitySetting | None = None


class ObservabilityStatusRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    setting: ObservabilitySetting


class SentenceGenerationResponse(BaseModel):
    sentences: list[str]
