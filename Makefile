# The developer's front door. Every target creates .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL := postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run demo test bench docs mutate lint fmt migration clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The command line works on the server's database when run from this folder (the same PROVISIONHUB_
# settings): the line printed before the server starts says how.
run: $(STAMP)
	@echo "provisionhub: serving. For the command line, open another terminal in this folder and run:"
	@echo "    source $(VENV)/bin/activate && provisionhub --help"
	$(BIN)/provisionhub serve

# A small demo world loaded into the database `run` serves (refused on one that holds anything else).
demo: $(STAMP)
	$(BIN)/provisionhub demo

# Lint, then the whole suite. PostgreSQL tests run when a server answers on 127.0.0.1:5432; a local
# cluster that is down is started first.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	@# The bench harness's test drives servers with wrk (Debian's package), installed here when missing.
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && \
		{ apt-get install -y -q wrk >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && \
		  apt-get install -y -q wrk >/dev/null 2>&1; }; }; } || true
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

# The documentation site (mkdocs.yml) into var/site; --strict makes a broken link or a page missing from
# the nav an error. `make test` builds it too (tests/docs).
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir var/site

# Mutation testing (mutmut 3; installed here on first use): mutants of the modules [tool.mutmut] names in
# pyproject.toml, each run against the tests that reach it, on SQLite only unless
# PROVISIONHUB_TEST_BACKENDS says otherwise. ARGS narrows the run to mutant names matching a glob
# (ARGS='provisionhub.dialects.scim.access.*'). Results stay in mutants/ for the next run to reuse.
mutate: $(STAMP)
	@$(BIN)/python -c 'import mutmut' 2>/dev/null || $(BIN)/pip install --quiet 'mutmut>=3.8,<4'
	PROVISIONHUB_TEST_BACKENDS=$${PROVISIONHUB_TEST_BACKENDS:-sqlite} $(BIN)/mutmut run $(ARGS)
	@only=$$(printf '%s' '$(ARGS)' | sed -e 's/[.]/[.]/g' -e 's/[*]/.*/g' -e 's/[?]/./g' -e 's/  */|/g'); \
	$(BIN)/mutmut results --all true | awk -F': ' -v only="$$only" ' \
		NF == 2 { name = $$1; sub(/^ +/, "", name); if (only == "" || name ~ ("^(" only ")$$")) n[$$2]++ } \
		END { \
			scored = n["killed"] + n["survived"] + n["suspicious"] + n["segfault"]; \
			printf "kill rate: %d killed / %d = %.1f%%\n", n["killed"], scored, scored ? 100 * n["killed"] / scored : 0; \
			printf "  survived %d, suspicious %d, segfault %d\n", n["survived"], n["suspicious"], n["segfault"]; \
			printf "  not counted: no tests %d, timeout %d, skipped %d, not run %d\n", \
				n["no tests"], n["timeout"], n["skipped"], n["not checked"]; \
		}'

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
	rm -rf $(VENV) var .pytest_cache .ruff_cache mutants
