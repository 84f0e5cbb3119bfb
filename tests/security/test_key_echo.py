"""A provider that echoes the key in its error, in every form servers use, never gets any
part of it into the error a viewer reads (issue 24, point 6 of the review): redacted before
the text is cut, lowercased and URL-encoded forms included."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from tests.servers.run import ASGIServer
from utterly.errors import ErrorCode, ProviderError
from utterly.providers import ProviderConfig, create_provider

KEY = "sk-proj-Zq8Xw2Lk9Pm4Rt7Yv1Bn6Cd3Fg5Hj0KsA/+="


def echoing_server(form: str) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat():
        # the key lands around character 262, across the 300-character cut of old
        message = "x" * 250 + f" invalid key {form} for this project; " + "y" * 200
        return JSONResponse({"error": {"message": message, "type": "invalid_request_error",
                                       "param": None, "code": "invalid_api_key"}},
                            status_code=401)

    return app


@pytest.mark.parametrize("form", [KEY, KEY.lower(), KEY.upper(), quote(KEY, safe=""),
                                  quote(KEY)])
async def test_no_part_of_an_echoed_key_reaches_the_error(form):
    with ASGIServer(echoing_server(form)) as url:
        provider = create_provider(ProviderConfig(
            provider="openai", model="gpt-4o-mini", base_url=url + "/v1", api_key=KEY,
            read_env=False, max_retries=0))
        try:
            with pytest.raises(ProviderError) as caught:
                await provider.complete([{"role": "user", "content": "hi"}], temperature=0,
                                        max_tokens=5)
        finally:
            await provider.aclose()
    error = caught.value
    assert error.code == ErrorCode.AUTHENTICATION
    shown = " ".join([error.message, error.hint, str(error.to_dict())]).lower()
    for start in range(0, len(KEY) - 7):  # no 8 characters of the key, in any form
        piece = KEY[start:start + 8].lower()
        assert piece not in shown and quote(piece, safe="").lower() not in shown
