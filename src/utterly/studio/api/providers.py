"""The chat providers the Studio offers, read from the core's registry: the settings page
builds its form from them."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ...providers import PROVIDERS
from ..schemas import ProviderOut
from .deps import actor

router = APIRouter(prefix="/api/providers", tags=["providers"])


@router.get("", response_model=list[ProviderOut], dependencies=[Depends(actor)])
def list_providers():
    """Every provider with its settings fields, model suggestions and job concurrency. Any
    signed-in user may read it: it holds no settings of any bot."""
    return [ProviderOut.model_validate(info) for info in PROVIDERS.values()]
