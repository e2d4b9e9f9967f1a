# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
PG_TEST_URL ?= postgres://portal:portal@127.0.0.1:5432/portal_suite
export PYTHONWARNINGS ?= ignore::SyntaxWarning

.PHONY: demo test test-sqlite test-postgres venv native services elasticsearch es lint run serve worker index-worker beat clean bench-ingest bench-search

venv: $(VENV)/.installed

# Runtime packages (requirements.txt, what the Docker image installs) plus the test and lint
# tools (requirements-dev.txt), each pinned.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# The C version of the segmenter's dynamic programme (zhtext/_cut.c), compiled in place; only
# rebuilt when the source is newer. Without it the same code runs in Python, slower.
native: venv
	$(BIN)/python scripts/build_native.py

# Redis, PostgreSQL (a password role for TCP), Chromium and a CJK font: installed from Debian's
# packages when missing, configured and started; then Elasticsearch 7 (PORTAL_ELASTICSEARCH=0
# leaves it out). Needs root for apt.
services:
	bash scripts/services.sh

# Elasticsearch 7 alone: from Maven Central, run as the system user portal-es on 127.0.0.1:9200.
elasticsearch:
	bash scripts/elasticsearch.sh

es: elasticsearch

demo: native
	$(MANAGE) migrate --noinput
	$(MANAGE) demo_admin
	-$(MANAGE) ingest demo/corpus --sync
	$(MANAGE) tags_apply demo/tags.json
	@echo ""
	@echo "门户已启动：http://127.0.0.1:8000/  后台：http://127.0.0.1:8000/admin/（账号见上）"
	$(MANAGE) runserver 127.0.0.1:8000

test: venv services lint test-sqlite test-postgres

test-sqlite: native
	$(BIN)/pytest -q

# The same suite again on PostgreSQL. Without a server it is skipped with a note, unless
# PORTAL_REQUIRE_POSTGRES=1 (CI), where an unreachable server fails the run.
test-postgres: native
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_TEST_URL)'.rsplit('/',1)[0]+'/postgres', connect_timeout=3).close()"; then \
		DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -q -m "not browser"; \
	elif [ "$${PORTAL_REQUIRE_POSTGRES:-}" = "1" ]; then \
		echo "PostgreSQL not reachable at $(PG_TEST_URL): the PostgreSQL pass is required here"; exit 1; \
	else echo "PostgreSQL not reachable at $(PG_TEST_URL): PostgreSQL pass skipped"; fi

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

run: native
	$(MANAGE) runserver 127.0.0.1:8000

# The portal as production runs it: DEBUG off, collected static files, gunicorn with
# portal/gunicorn.conf.py (WEB_CONCURRENCY / GUNICORN_CMD_ARGS override workers and threads).
# Locally a throwaway secret key, plain http and localhost are allowed unless set.
SERVE_BIND ?= 127.0.0.1:8000
serve: native
	@export DJANGO_DEBUG=false \
		DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')}" \
		DJANGO_ALLOWED_HOSTS="$${DJANGO_ALLOWED_HOSTS:-127.0.0.1,localhost}" \
		DJANGO_SECURE_SSL_REDIRECT="$${DJANGO_SECURE_SSL_REDIRECT:-false}" \
		DATABASE_CONN_MAX_AGE="$${DATABASE_CONN_MAX_AGE:-60}"; \
	$(MANAGE) migrate --noinput && \
	$(MANAGE) collectstatic --noinput -v0 && \
	exec $(BIN)/gunicorn -c portal/gunicorn.conf.py -b $(SERVE_BIND) portal.wsgi

worker: native
	$(BIN)/celery -A portal worker -Q ingest --concurrency 2 -l info

# Whoosh allows one writer; Elasticsearch takes a pool (search.backlog claims its batches).
INDEX_CONCURRENCY ?= $(if $(filter elasticsearch,$(SEARCH_BACKEND)),2,1)
index-worker: native
	$(BIN)/celery -A portal worker -Q index --concurrency $(INDEX_CONCURRENCY) --prefetch-multiplier 1 -l info

beat: venv
	$(BIN)/celery -A portal beat -l info --schedule var/celerybeat-schedule

clean:
	rm -rf $(VENV) var

# Benchmarks print figures; they are not part of the test suite.
# Ingest over both shared corpora copied to 2,000+ files, inline then with 2 workers on
# PostgreSQL; BENCH_INGEST_CURVE=10000,20000 grows one SQLite database step by step instead.
CORPUS ?= ../shared/corpus ../shared/corpus-policy
BENCH_INGEST_FILES ?= 2000
BENCH_INGEST_CURVE ?=
bench-ingest: native services
	@if [ -n "$(BENCH_INGEST_CURVE)" ]; then \
		$(BIN)/python scripts/bench_ingest.py $(CORPUS) --sqlite --curve $(BENCH_INGEST_CURVE); \
	else \
		$(BIN)/python scripts/bench_ingest.py $(CORPUS) --files $(BENCH_INGEST_FILES) --workers 2; \
	fi

# Whoosh, Elasticsearch and the tutorial setup side by side, a cost curve over one growing
# index: make bench-search BENCH_DOCS=10000,20000,50000,100000. The tutorial setup slows to a
# few articles a second as it grows, so it stops at 2,000.
BENCH_DOCS ?= 2000,20000
bench-search: native elasticsearch
	$(MANAGE) bench_search --docs $(BENCH_DOCS) --engine all --tutorial-max-docs 2000
