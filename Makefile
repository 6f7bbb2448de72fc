# Rapport. `make run` serves the portal with demo data; `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed
# The bench's own environment: the peer it measures against (pywa on FastAPI), never a requirement of Rapport.
BENCH_VENV := .bench-venv
BENCH_STAMP := $(BENCH_VENV)/.installed

.PHONY: run test install migrate seed bench e2e clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

run: seed
	@echo ""
	@echo "Rapport is at http://$(HOST):$(PORT)/  (admin: http://$(HOST):$(PORT)/admin/)"
	@echo "Demo logins, password 'rapport-demo': admin (superuser), rep.alex, rep.blair, rep.casey, rep.drew (no license)"
	@echo ""
	RAPPORT_HOST=$(HOST) RAPPORT_PORT=$(PORT) $(BIN)/uvicorn config.asgi:application --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

$(BENCH_STAMP): tests/bench/peer/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet -r tests/bench/peer/requirements.txt
	touch $(BENCH_STAMP)

bench: install $(BENCH_STAMP)
	@command -v wrk >/dev/null || echo "wrk is missing: the peer bench will be skipped (Debian: apt-get install -y wrk)"
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(BENCH_VENV) db.sqlite3 db.sqlite3-* staticfiles .pytest_cache
