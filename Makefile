# The developer's front door. Every target creates .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL := postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test bench lint fmt migration clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/provisionhub serve

# Lint, then the whole suite. PostgreSQL tests run when a server answers on 127.0.0.1:5432; a local
# cluster that is down is started first.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	@$(BIN)/python -m devtools.probe 127.0.0.1 5432 || \
		{ command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ] && \
		  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start 2>/dev/null; \
		  sleep 1; } || true
	@if $(BIN)/python -m devtools.probe 127.0.0.1 5432; then \
		echo "PostgreSQL answers on 127.0.0.1:5432: storage tests run on SQLite and PostgreSQL"; \
		PROVISIONHUB_TEST_DATABASE_URL=$${PROVISIONHUB_TEST_DATABASE_URL:-$(PG_URL)} $(BIN)/pytest -n 2 $(ARGS); \
	else \
		echo "no PostgreSQL on 127.0.0.1:5432: storage tests run on SQLite only"; \
		$(BIN)/pytest -n 2 $(ARGS); \
	fi

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migration: $(STAMP)
	$(BIN)/alembic revision --autogenerate -m "$(m)"

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
