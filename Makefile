# Liaison — the two quick-start commands are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
export PIP_DISABLE_PIP_VERSION_CHECK = 1

.DEFAULT_GOAL := help
.PHONY: help run test test-lite lint format bench messages clean compiled-messages mutate

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed-run

compiled-messages: $(VENV)/.installed-run
	@scripts/ensure-debian-packages msgfmt:gettext
	@DEBUG=1 $(PY) manage.py compilemessages --ignore=.venv -v0

run: $(VENV)/.installed-run ## Install, migrate, seed the demo and start web + Celery worker + beat
	@$(MAKE) -s compiled-messages
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --no-input -v0
	DEBUG=$${DEBUG:-1} $(PY) manage.py seed_demo
	@echo ""
	@echo ">> Liaison: http://127.0.0.1:$${LIAISON_PORT:-8000}/  (admin: /admin/, health: /healthz)"
	DEBUG=$${DEBUG:-1} PATH=$(BIN):$$PATH $(BIN)/honcho start -f Procfile

test: $(VENV)/.installed-dev ## Install and run the whole suite on a throwaway PostgreSQL + Redis
	@$(MAKE) -s compiled-messages
	@scripts/ensure-debian-packages chromium:chromium nginx:nginx
	scripts/with-test-services $(BIN)/pytest $(ARGS)

test-lite: $(VENV)/.installed-dev ## Quick inner loop: SQLite, no services, no browser or worker tests
	@$(MAKE) -s compiled-messages
	LIAISON_TEST_LITE=1 $(BIN)/pytest -m "not browser and not worker and not postgres" $(ARGS)

lint: $(VENV)/.installed-dev ## ruff check and format check; mypy (django-stubs) on the core modules
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.installed-dev ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: $(VENV)/.installed-dev ## Refresh locale/zh_Hans/LC_MESSAGES/django.po from the source
	DEBUG=1 $(PY) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=var --no-obsolete

bench: $(VENV)/.installed-dev ## Run the benchmarks in bench/ (ratios against a baseline in the same run)
	scripts/with-test-services $(PY) bench/run.py

mutate: $(VENV)/.installed-dev ## Mutation testing (mutmut, not in CI): all modules, or MODULE=proposals/deadlines.py
	@$(MAKE) -s compiled-messages
	$(PY) scripts/mutate $(MODULE)

clean: ## Remove the virtualenv and local state (var/)
	rm -rf $(VENV) var
