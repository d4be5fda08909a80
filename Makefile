# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements/base.txt requirements/dev.txt | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format migrate demo bench clean

$(STAMP): requirements/base.txt requirements/dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

migrate: $(STAMP)
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput

# Web server, Celery worker and beat on the embedded defaults (SQLite, folder broker).
run: migrate
	@DEBUG=$${DEBUG:-true} $(BIN)/python manage.py dev_admin | { read email password; \
	  echo ""; echo "  BotPresto runs at http://$(HOST):$(PORT)/"; \
	  echo "  Sign up there, or log in (admin too, at /admin/) as $$email with password $$password"; echo ""; }
	DEBUG=$${DEBUG:-true} HOST=$(HOST) PORT=$(PORT) $(BIN)/honcho -f scripts/Procfile.dev start

test: $(STAMP)
	DEBUG=$${DEBUG:-true} TESTING=true $(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=$${DEBUG:-true} TESTING=true $(BIN)/mypy .
	DEBUG=$${DEBUG:-true} TESTING=true $(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && DEBUG=true $(BIN)/mypy .

format: $(STAMP)
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .mypy_cache .ruff_cache
