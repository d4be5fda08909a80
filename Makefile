# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements/base.txt requirements/dev.txt | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
PROXY_PORT ?= 8001

.PHONY: run test test-fast lint format migrate demo bench bench-drain chaos soak-broker upgrade-check clean venv

$(STAMP): requirements/base.txt requirements/dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

migrate: $(STAMP)
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput

# The Procfile's roles (pages on PORT, the proxy on PROXY_PORT, Celery worker and beat) on the embedded defaults.
# The login is kept in var/login.txt (the same password every run) and shown again once start-up is done.
# The worker runs threads and bounded drain runs, so Ctrl-C stops everything within a few seconds.
DEV_ENV = DEBUG=$${DEBUG:-true} WEB_HOST=$(HOST) WEB_PORT=$(PORT) PROXY_PORT=$(PROXY_PORT) ANALYTICS_DRAIN_SECONDS=$${ANALYTICS_DRAIN_SECONDS:-2}
run: migrate
	@rm -rf var/metrics  # every process of the run starts its metrics afresh
	@DEBUG=$${DEBUG:-true} $(BIN)/python manage.py dev_admin --url http://$(HOST):$(PORT)/
	$(DEV_ENV) PROXY_URL=http://$(HOST):$(PROXY_PORT) $(BIN)/honcho -f scripts/Procfile.dev start

# The whole flow offline: Telegram stand-in + sample bot endpoint + the service wired to them.
STANDIN_PORT ?= 8081
DEMO_ENDPOINT_PORT ?= 8082
MIXPANEL_PORT ?= 8090
DEMO_TOKEN := 5550001234:AAdemo-local-only-token-0000000000
demo: export TELEGRAM_API_URL = http://127.0.0.1:$(STANDIN_PORT)
demo: export DEMO_STANDIN_PORT = $(STANDIN_PORT)
demo: export DEMO_ENDPOINT_PORT = $(DEMO_ENDPOINT_PORT)
demo: export MIXPANEL_PORT = $(MIXPANEL_PORT)
demo: export ALLOW_PRIVATE_UPSTREAMS = true
demo: export MIXPANEL_API_URL = http://127.0.0.1:$(MIXPANEL_PORT)
demo: export PUBLIC_URL = http://$(HOST):$(PORT)
demo: export PROXY_URL = http://$(HOST):$(PROXY_PORT)
demo: export NOTICE_COOLDOWN_SECONDS ?= 60
demo: migrate
	@rm -rf var/metrics
	@DEBUG=$${DEBUG:-true} $(BIN)/python manage.py dev_admin --url http://$(HOST):$(PORT)/ --api-key demo
	@key=$$(sed -n 's/^API key: //p' var/login.txt); \
	  echo "  A sample bot @presto_demo_bot lives in the Telegram stand-in (http://127.0.0.1:$(STANDIN_PORT))."; \
	  echo "  Its token: $(DEMO_TOKEN)"; \
	  echo "  1. Connect it: page 'Connect a bot', or"; \
	  echo "     curl -s -H 'Authorization: Bearer '$$key -d token=$(DEMO_TOKEN) -d endpoint_secret=demo-endpoint-secret http://$(HOST):$(PORT)/api/v1/bots/"; \
	  echo "  2. Talk to it:  $(BIN)/python -m botpresto.devtools.demo_send hello"; \
	  echo "     (before connecting, the update goes straight to the sample endpoint; after, through the proxy)"; \
	  echo "  3. An outage:   $(BIN)/python -m botpresto.devtools.demo_send --endpoint down, then step 2 (README, 'make demo')"; echo ""
	$(DEV_ENV) $(BIN)/honcho -f scripts/Procfile.demo start

# The analytics drain: one worker process, then two, on the same pre-filled buffer, records/s
# side by side (README, "Performance — analytics drain"). Needs DATABASE_URL (PostgreSQL) and
# REDIS_URL, scratch ones; BENCH_DRAIN_ARGS e.g. "--records 200000 --repeat 3".
bench-drain: $(STAMP)
	DEBUG=$${DEBUG:-true} LOG_LEVEL=WARNING $(BIN)/python scripts/bench_drain.py --json bench-results/drain.json $(BENCH_DRAIN_ARGS)

test: $(STAMP)
	DEBUG=$${DEBUG:-true} $(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=$${DEBUG:-true} $(BIN)/mypy .
	DEBUG=$${DEBUG:-true} $(BIN)/pytest $(PYTEST_ARGS)

# The same without the slow tests (browser, schema fuzzing, real worker and server processes).
test-fast: $(STAMP)
	DEBUG=$${DEBUG:-true} $(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=$${DEBUG:-true} $(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

# Faults against the production roles on loopback (README, "Chaos"): every update answered 2xx reached the
# endpoint exactly once. Starts its own PostgreSQL (needs root) and Redis; CHAOS_ARGS e.g. "--short".
chaos: $(STAMP)
	$(BIN)/python scripts/chaos.py $(CHAOS_ARGS)

# The embedded broker under demo traffic (README, "Background work"); SOAK_ARGS e.g. "--seconds 3600".
soak-broker: $(STAMP)
	$(BIN)/python scripts/soak_broker.py $(SOAK_ARGS)

# Which pinned dependencies have newer releases (upgrade one at a time, run make test, commit).
upgrade-check: $(STAMP)
	$(BIN)/python -m pip list --outdated

# The proxy against a direct call and a minimal Django forwarder (README, performance). Needs Redis.
bench: $(STAMP)
	@command -v wrk >/dev/null || apt-get install -y wrk || { echo "install wrk (apt-get install wrk)"; exit 1; }
	$(BIN)/python scripts/bench_proxy.py $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && DEBUG=true $(BIN)/mypy .

format: $(STAMP)
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .mypy_cache .ruff_cache
