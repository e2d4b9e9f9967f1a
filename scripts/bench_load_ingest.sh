#!/usr/bin/env bash
# Load on the site while workers ingest: gunicorn from portal/gunicorn.conf.py on a fresh
# PostgreSQL database holding the real corpus, Redis + 2 ingest processes + the index worker +
# beat, and scripts/load_test.py at the given rates, first alone, then while N synthetic files
# (search.management.commands.bench_corpus) go through the workers. Prints load_test's figures.
#
#   bash scripts/bench_load_ingest.sh ../shared/corpus "40 50 55" 2000
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${1:-../shared/corpus}
RATES=${2:-"40 50"}
FILES=${3:-2000}
PG=${PG:-postgres://portal:portal@127.0.0.1:5432}
DB=portal_bench_load
PORT=${PORT:-8765}
PY=.venv/bin/python
WORK=$(mktemp -d /tmp/bench-load-XXXX)

export DJANGO_SETTINGS_MODULE=portal.settings DJANGO_DEBUG=false DJANGO_SECURE_SSL_REDIRECT=false
export DJANGO_SECRET_KEY=bench-only-$(head -c 24 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9')
export DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost DATABASE_CONN_MAX_AGE=60
export DATABASE_URL=$PG/$DB PORTAL_VAR_DIR=$WORK/var CELERY_BROKER_URL=redis://127.0.0.1:6379/7
export PYTHONWARNINGS=ignore

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  redis-cli -n 7 flushdb >/dev/null
}
trap cleanup EXIT

redis-cli -n 7 flushdb >/dev/null
$PY - <<EOF
import psycopg
with psycopg.connect("$PG/portal", autocommit=True) as c:
    c.execute('DROP DATABASE IF EXISTS "$DB"'); c.execute('CREATE DATABASE "$DB"')
EOF
$PY manage.py migrate -v0
$PY manage.py collectstatic --noinput -v0
$PY manage.py ingest "$CORPUS" --sync --no-progress | tail -1
$PY manage.py bench_corpus "$CORPUS" "$WORK/files" --count "$FILES" --seed 11 2>/dev/null

.venv/bin/celery -A portal worker -Q index -c 1 -n bench-index@%h -l warning >"$WORK/index.log" 2>&1 & pids+=($!)
.venv/bin/celery -A portal worker -Q ingest -c 2 -n bench-ingest@%h -l warning >"$WORK/ingest.log" 2>&1 & pids+=($!)
.venv/bin/celery -A portal beat -s "$WORK/beat" -l warning >"$WORK/beat.log" 2>&1 & pids+=($!)
.venv/bin/gunicorn -c portal/gunicorn.conf.py -b 127.0.0.1:$PORT portal.wsgi >"$WORK/web.log" 2>&1 & pids+=($!)
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$PORT/" >/dev/null && break; sleep 1; done
sleep 10  # every worker warm

for rate in $RATES; do
  echo "== ${rate} req/s, no ingest"
  $PY scripts/load_test.py --url "http://127.0.0.1:$PORT" --rate "$rate" --duration 60 --progress 0 || true
done
for rate in $RATES; do
  echo "== ${rate} req/s while ${FILES} files go through the workers"
  run=$($PY manage.py ingest "$WORK/files" --no-wait --no-progress | grep -o '批次 #[0-9]*')
  started=$(date +%s)
  $PY scripts/load_test.py --url "http://127.0.0.1:$PORT" --rate "$rate" --duration 60 --progress 0 || true
  $PY manage.py pipeline_status
  # Let the run finish before the next rate, so each load runs alongside a fresh ingest.
  until $PY manage.py pipeline_status --json | $PY -c 'import json,sys; s=json.load(sys.stdin); sys.exit(s["ingest"]["pending"] + s["index"]["backlog"])'; do sleep 5; done
  echo "$run finished in $(( $(date +%s) - started )) s"
  # A second pass over the same files would only find them unchanged: start the next one empty.
  $PY - <<EOF
import django; django.setup()
from articles.models import Article
Article.objects.filter(url__startswith="https://bench.example.cn/").delete()
EOF
done
echo "logs in $WORK"
