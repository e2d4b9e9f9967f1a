# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/portal_suite
export PYTHONWARNINGS ?= ignore::SyntaxWarning

.PHONY: demo test test-sqlite test-postgres venv system-deps lint run worker index-worker beat clean bench-ingest bench-search

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

# Chromium and a CJK font for the browser tests (Debian packages; needs root).
system-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi 'Noto Sans CJK'; then \
		echo "Installing chromium and fonts-noto-cjk ..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

demo: venv
	$(MANAGE) migrate --noinput
	$(MANAGE) demo_admin
	-$(MANAGE) ingest demo/corpus --sync
	@echo ""
	@echo "门户已启动：http://127.0.0.1:8000/  后台：http://127.0.0.1:8000/admin/（账号见上）"
	$(MANAGE) runserver 127.0.0.1:8000

test: venv system-deps lint test-sqlite test-postgres

test-sqlite: venv
	$(BIN)/pytest -q

# The same suite again on PostgreSQL (skipped with a note when no server answers).
test-postgres: venv
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_TEST_URL)'.rsplit('/',1)[0]+'/postgres', connect_timeout=3).close()" 2>/dev/null; then \
		DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -q -m "not browser"; \
	else echo "PostgreSQL not reachable at $(PG_TEST_URL): PostgreSQL pass skipped"; fi

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

run: venv
	$(MANAGE) runserver 127.0.0.1:8000

worker: venv
	$(BIN)/celery -A portal worker -Q ingest --concurrency 2 -l info

index-worker: venv
	$(BIN)/celery -A portal worker -Q index --concurrency 1 -l info

beat: venv
	$(BIN)/celery -A portal beat -l info --schedule var/celerybeat-schedule

clean:
	rm -rf $(VENV) var

# Benchmarks print figures; they are not part of the test suite.
CORPUS ?= ../shared/corpus
bench-ingest: venv
	$(BIN)/python scripts/bench_ingest.py $(CORPUS) --workers 2

bench-search: venv
	$(MANAGE) bench_search --docs 20000
