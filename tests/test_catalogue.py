import hashlib
import os

import pytest

from utterly.catalogue import (
    CATALOGUE,
    DEFAULT_LOCAL_MODEL,
    CatalogueModel,
    PackagedFile,
    join_parts,
    resolve_model_path,
)
from utterly.errors import ErrorCode, ProviderError


@pytest.fixture
def split_model(tmp_path, monkeypatch):
    """A model split across three real importable packages, as on PyPI."""
    site = tmp_path / "site"
    payload = os.urandom(300_000)
    chunks = [payload[:100_000], payload[100_000:250_000], payload[250_000:]]
    parts = []
    for i, chunk in enumerate(chunks, 1):
        package = site / f"utterly_test_part{i}_{tmp_path.name.replace('-', '_')}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{i:02d}.bin").write_bytes(chunk)
        parts.append(PackagedFile(package.name, f"data/part{i:02d}.bin"))
    monkeypatch.syspath_prepend(str(site))
    entry = CatalogueModel(name="split", description="test", distributions=("a", "b", "c"),
                           parts=tuple(parts), size=len(payload),
                           sha256=hashlib.sha256(payload).hexdigest(), filename="split.gguf")
    return entry, payload, site


def test_parts_are_joined_in_order_and_verified(split_model, tmp_path):
    entry, payload, _ = split_model
    target = join_parts(entry, tmp_path / "cache")
    assert target.read_bytes() == payload
    assert not list((tmp_path / "cache").glob("*.part"))


def test_a_verified_file_is_not_joined_again(split_model, tmp_path):
    entry, _, _ = split_model
    first = join_parts(entry, tmp_path / "cache")
    mtime = first.stat().st_mtime_ns
    again = join_parts(entry, tmp_path / "cache")
    assert again == first and again.stat().st_mtime_ns == mtime


def test_a_tampered_target_is_rebuilt(split_model, tmp_path):
    entry, payload, _ = split_model
    target = join_parts(entry, tmp_path / "cache")
    target.write_bytes(b"truncated")
    assert join_parts(entry, tmp_path / "cache").read_bytes() == payload


def test_a_corrupt_part_is_refused_and_leaves_nothing(split_model, tmp_path):
    entry, _, site = split_model
    part = entry.parts[1].locate()
    data = bytearray(part.read_bytes())
    data[10] ^= 0xFF
    part.write_bytes(bytes(data))
    with pytest.raises(ProviderError) as caught:
        join_parts(entry, tmp_path / "cache")
    assert caught.value.code == ErrorCode.MODEL_NOT_FOUND
    assert "sha256" in caught.value.message
    assert not (tmp_path / "cache" / "split.gguf").exists()
    assert not list((tmp_path / "cache").glob("*.part"))


def test_a_missing_package_names_what_to_install(monkeypatch):
    entry = CatalogueModel(name="ghost", description="", distributions=("ghost-weights==1.0",),
                           parts=(PackagedFile("utterly_no_such_package", "m.gguf"),))
    monkeypatch.setitem(CATALOGUE, "ghost", entry)
    with pytest.raises(ProviderError) as caught:
        resolve_model_path("ghost")
    assert caught.value.code == ErrorCode.MODEL_NOT_FOUND
    assert "ghost-weights==1.0" in caught.value.hint


def test_unknown_names_and_missing_files_are_classified(tmp_path):
    with pytest.raises(ProviderError) as caught:
        resolve_model_path("gpt-5-local")
    assert "smollm2-135m" in caught.value.hint
    with pytest.raises(ProviderError) as caught:
        resolve_model_path(str(tmp_path / "nope.gguf"))
    assert caught.value.code == ErrorCode.MODEL_NOT_FOUND


def test_a_user_gguf_path_is_used_as_is(tmp_path):
    model = tmp_path / "mine.gguf"
    model.write_bytes(b"GGUF")
    assert resolve_model_path(str(model)) == ("mine", model)


def test_smollm2_ships_in_its_package():
    name, path = resolve_model_path("smollm2-135m")
    assert path.is_file() and path.read_bytes()[:4] == b"GGUF"


def test_the_default_model_joins_into_the_pinned_qwen_file():
    entry = CATALOGUE[DEFAULT_LOCAL_MODEL]
    if not entry.is_installed():
        pytest.skip("the Qwen parts are not installed (make install installs them)")
    name, path = resolve_model_path(DEFAULT_LOCAL_MODEL)
    assert path.stat().st_size == entry.size == 1_117_320_768
    assert path.read_bytes()[:4] == b"GGUF" if path.stat().st_size < 10 else True
    with open(path, "rb") as f:
        assert f.read(4) == b"GGUF"
