#!/usr/bin/env bash
# Install (Debian packages), configure and start what the portal and its tests talk to:
# Redis and PostgreSQL on loopback, plus Chromium and a CJK font for the browser tests, and
# Elasticsearch 7 (scripts/elasticsearch.sh). Idempotent: run it as often as you like; it only
# does what is missing. Needs root for apt.
#
#   PG_ROLE / PG_PASSWORD   the login role the tests use (default portal / portal, CREATEDB)
#   PORTAL_ELASTICSEARCH=0  leave Elasticsearch out (its tests are then skipped, unless required)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

PG_ROLE=${PG_ROLE:-portal}
PG_PASSWORD=${PG_PASSWORD:-portal}
REDIS_PORT=${REDIS_PORT:-6379}
PG_PORT=${PG_PORT:-5432}

say() { printf '[services] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    say "需要 root 权限来执行：$*" >&2
    exit 1
  fi
}

# --- packages -----------------------------------------------------------------------------
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -i 'Noto Sans CJK' >/dev/null || need+=(fonts-noto-cjk fontconfig)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  as_root apt-get update -qq
  as_root apt-get install -y -qq "${need[@]}" >/dev/null
fi

# --- Redis --------------------------------------------------------------------------------
# Append-only persistence, as in docker-compose.yml: a restart keeps queued wake-ups. (The
# database is the record of work either way; persistence only saves the sweep some latency.)
if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  say "starting Redis on 127.0.0.1:$REDIS_PORT"
  as_root mkdir -p /var/lib/portal-redis /var/log/portal-redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" \
    --appendonly yes --dir /var/lib/portal-redis --logfile /var/log/portal-redis/redis.log
  for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null || { say "Redis did not start" >&2; exit 1; }

# --- PostgreSQL ---------------------------------------------------------------------------
if ! pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; then
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$version" ]; then
    # The package normally creates a cluster; a machine where it did not gets one here.
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    as_root pg_createcluster "$version" main
  fi
  say "starting PostgreSQL $version on 127.0.0.1:$PG_PORT"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break; sleep 0.5; done
fi
pg_isready -q -h 127.0.0.1 -p "$PG_PORT" || { say "PostgreSQL did not start" >&2; exit 1; }

# Debian's pg_hba.conf asks for a password over TCP (scram-sha-256), so the tests log in as a
# role with a password rather than as a passwordless postgres; CREATEDB lets the test runner
# create and drop its own databases.
psql_admin() { as_root su postgres -s /bin/sh -c "psql -v ON_ERROR_STOP=1 -qtA -p $PG_PORT $*"; }
if [ "$(psql_admin "-c \"SELECT 1 FROM pg_roles WHERE rolname = '$PG_ROLE'\"")" != "1" ]; then
  say "creating PostgreSQL role $PG_ROLE"
  psql_admin "-c \"CREATE ROLE $PG_ROLE LOGIN CREATEDB PASSWORD '$PG_PASSWORD'\""
fi
if [ "$(psql_admin "-c \"SELECT 1 FROM pg_database WHERE datname = '$PG_ROLE'\"")" != "1" ]; then
  psql_admin "-c \"CREATE DATABASE $PG_ROLE OWNER $PG_ROLE\""
fi
PGPASSWORD=$PG_PASSWORD psql -qtA -h 127.0.0.1 -p "$PG_PORT" -U "$PG_ROLE" -d "$PG_ROLE" -c 'SELECT 1' >/dev/null \
  || { say "PostgreSQL refuses $PG_ROLE over TCP" >&2; exit 1; }
say "Redis and PostgreSQL are up (postgres://$PG_ROLE:***@127.0.0.1:$PG_PORT/)"

# --- Elasticsearch --------------------------------------------------------------------------
# Its own script (a Maven download and a JVM rather than Debian packages); where the node is
# already up it costs one HTTP request.
if [ "${PORTAL_ELASTICSEARCH:-1}" != "0" ]; then
  bash "$(dirname "$0")/elasticsearch.sh"
else
  say "Elasticsearch left out (PORTAL_ELASTICSEARCH=0)"
fi
