"""Azure OpenAI: the OpenAI provider with Azure's client, endpoint, deployment and api-version."""

from __future__ import annotations

import os
import time

from ..errors import ErrorCode, ProviderError
from .base import API_KEY, CheckResult, ProviderField, ProviderInfo
from .errors_map import Target
from .openai import OpenAIProvider, forget_environment, http_client_options

DEFAULT_API_VERSION = "2024-10-21"


class AzureOpenAIProvider(OpenAIProvider):
    name = "azure-openai"
    default_model = None
    key_env = "AZURE_OPENAI_API_KEY"

    def _setup(self) -> None:
        import openai

        config = self.config
        env = os.environ if config.read_env else {}
        endpoint = (config.azure_endpoint or config.base_url
                    or env.get("AZURE_OPENAI_ENDPOINT"))
        if not endpoint:
            raise ProviderError(
                ErrorCode.CONFIGURATION, "no Azure OpenAI endpoint",
                hint="give it with the option --azure-endpoint or the env var "
                     "AZURE_OPENAI_ENDPOINT (https://<resource>.openai.azure.com)",
                provider=self.name)
        deployment = config.azure_deployment or config.model
        if not deployment:
            raise ProviderError(
                ErrorCode.CONFIGURATION, "no Azure OpenAI deployment",
                hint="give the deployment name with the option --azure-deployment (or --model)",
                provider=self.name)
        api_key = config.api_key or env.get(self.key_env)
        ad_token = env.get("AZURE_OPENAI_AD_TOKEN")
        if not api_key and not ad_token:
            raise ProviderError(
                ErrorCode.CONFIGURATION, "no API key for Azure OpenAI",
                hint=f"give one with the option --api-key or the env var {self.key_env}",
                provider=self.name)
        self.endpoint = endpoint.rstrip("/")
        self.deployment = deployment
        self.model = deployment
        self.base_url = self.endpoint
        self.api_version = (config.api_version or env.get("OPENAI_API_VERSION")
                            or DEFAULT_API_VERSION)
        self._api_key = api_key
        self.target = Target(provider=self.name, model=deployment, url=self.endpoint,
                             timeout_s=config.timeout_s, api_key=api_key,
                             deployment=deployment, key_env=self.key_env,
                             quote=config.quote_server, outbound=config.outbound)
        # Without azure_deployment on the client, the SDK puts `model` into the path:
        # /openai/deployments/{model}/chat/completions; one client serves every deployment.
        self._client = openai.AsyncAzureOpenAI(
            azure_endpoint=self.endpoint, api_key=api_key or None, api_version=self.api_version,
            timeout=config.timeout_s, max_retries=0, **http_client_options(config))
        if not config.read_env:
            forget_environment(self._client)

    @property
    def _model_param(self) -> str:
        return self.deployment

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(deployment={self.deployment!r}, "
                f"endpoint={self.endpoint!r}, api_version={self.api_version!r})")

    async def check(self) -> CheckResult:
        # Azure lists models per resource, not deployments: ask the deployment for one token.
        started = time.monotonic()
        completion = await self._probe()
        served = {"served_model": completion.model} if self.config.quote_server else {}
        return CheckResult(ok=True, provider=self.name, model=self.deployment,
                           message=f"deployment {self.deployment} answers at {self.endpoint}",
                           details={"endpoint": self.endpoint, "deployment": self.deployment,
                                    "api_version": self.api_version, **served,
                                    "latency_s": round(time.monotonic() - started, 3)})


ENDPOINT = ProviderField(
    "azure_endpoint", "Azure endpoint", "Point de terminaison Azure", kind="url",
    env="AZURE_OPENAI_ENDPOINT", help="Azure OpenAI endpoint",
    hint="e.g. https://NAME.openai.azure.com", example="https://NAME.openai.azure.com")
DEPLOYMENT = ProviderField(
    "azure_deployment", "Deployment", "Déploiement", max_length=200,
    help="Azure OpenAI deployment", hint="the deployment name chosen in the Azure portal")
API_VERSION = ProviderField(
    "api_version", "API version", "Version d'API", env="OPENAI_API_VERSION", max_length=50,
    help="Azure OpenAI API version", hint=f"e.g. {DEFAULT_API_VERSION}",
    example=DEFAULT_API_VERSION)
_SETTINGS = (ENDPOINT, DEPLOYMENT, API_VERSION, API_KEY)
INFO = ProviderInfo(name="azure-openai", label="Azure OpenAI", create=AzureOpenAIProvider,
                    fields=_SETTINGS, required=tuple(f.name for f in _SETTINGS),
                    key_env=AzureOpenAIProvider.key_env,
                    concurrency=4, otel_name="azure.ai.openai")
