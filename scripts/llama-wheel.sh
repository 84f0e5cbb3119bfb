#!/usr/bin/env bash
# Build llama-cpp-python once with portable CPU flags into a wheelhouse keyed by version
# and flags, then print the wheel's path. pip's own wheel cache ignores CMAKE_ARGS, so a
# wheel built natively (which segfaults on some CPUs) could otherwise come back.
set -euo pipefail
VERSION="${LLAMA_CPP_VERSION:-0.3.36}"
FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
KEY="$(printf '%s|%s' "$VERSION" "$FLAGS" | sha256sum | cut -c1-12)"
HOUSE="${UTTERLY_WHEELHOUSE:-$HOME/.cache/utterly/wheelhouse}/llama-cpp-python-$VERSION-$KEY"
PY="${PYTHON:-python3}"
if ! ls "$HOUSE"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  mkdir -p "$HOUSE.tmp"
  echo "building llama-cpp-python $VERSION with portable flags (about 7 minutes, once)" >&2
  CMAKE_ARGS="$FLAGS" FORCE_CMAKE=1 "$PY" -m pip wheel --no-cache-dir --no-deps \
    --no-binary llama-cpp-python "llama-cpp-python==$VERSION" -w "$HOUSE.tmp" >&2
  rm -rf "$HOUSE" && mv "$HOUSE.tmp" "$HOUSE"
fi
ls "$HOUSE"/llama_cpp_python-*.whl | head -1
