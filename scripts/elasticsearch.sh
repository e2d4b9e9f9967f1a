#!/usr/bin/env bash
# Install, configure and start Elasticsearch 7 on loopback for development and the tests, the way
# scripts/services.sh does Redis and PostgreSQL. Idempotent: when a 7.x node already answers on
# the port it does nothing; otherwise it installs what is missing and starts the node.
#
# Where it comes from: Elasticsearch's own "integ-test" distribution on Maven Central
# (org.elasticsearch.distribution.integ-test-zip:elasticsearch), fetched with Maven into ~/.m2.
# It is the minimal server build: no bundled JDK (it runs on the machine's Java 17, which 7.17
# supports) and no machine-learning or other x-pack modules beyond core and security.
#
#   ES_VERSION      the 7.17.x release to install (default 7.17.29, the newest 7.17 on Central)
#   ES_PORT         HTTP port on 127.0.0.1 (default 9200); the transport port is ES_PORT+100
#   ES_HEAP         JVM heap, both -Xms and -Xmx (default 512m: the machine runs much else)
#   ES_USER         system user that owns and runs it (default portal-es; ES refuses root)
#   ES_WAIT         seconds to wait for a yellow cluster after starting (default 90)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

ES_VERSION=${ES_VERSION:-7.17.29}
ES_PORT=${ES_PORT:-9200}
ES_HEAP=${ES_HEAP:-512m}
ES_USER=${ES_USER:-portal-es}
ES_WAIT=${ES_WAIT:-90}
ES_ROOT=/opt/portal-elasticsearch
ES_HOME=$ES_ROOT/$ES_VERSION
ES_DATA=/var/lib/portal-elasticsearch
ES_LOGS=/var/log/portal-elasticsearch
ES_RUN=/run/portal-elasticsearch
ES_PIDFILE=$ES_RUN/elasticsearch.pid
ES_URL=http://127.0.0.1:$ES_PORT
ARTIFACT=org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip

say() { printf '[elasticsearch] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    say "需要 root 权限来执行：$*" >&2
    exit 1
  fi
}

# The version number of whatever answers on the port ("" when nothing does). Plain text parsing
# keeps the script free of jq/python: the root endpoint prints `"number" : "7.17.29"`.
answering_version() {
  curl -fsS -m 3 "$ES_URL/" 2>/dev/null | sed -n 's/.*"number" *: *"\([^"]*\)".*/\1/p' | head -n 1 || true
}

# --- already up? ----------------------------------------------------------------------------
# The fast path `make services` takes on a machine where the node runs: one HTTP request.
if command -v curl >/dev/null 2>&1; then
  running=$(answering_version)
  case "$running" in
    7.*) say "Elasticsearch $running is up at $ES_URL"; exit 0 ;;
    "") ;;
    *) say "port $ES_PORT answers with Elasticsearch $running, not 7.x: stop it or set ES_PORT" >&2; exit 1 ;;
  esac
fi

# --- packages -------------------------------------------------------------------------------
# Java runs it (and javac builds the analysis plugin below), Maven fetches it, unzip keeps the
# archive's execute bits, curl checks health.
need=()
command -v javac >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v unzip >/dev/null 2>&1 || need+=(unzip)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  as_root apt-get update -qq
  as_root apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Something that is not Elasticsearch (or is still starting) may hold the port: check it again
# now that curl is certainly there.
running=$(answering_version)
case "$running" in
  7.*) say "Elasticsearch $running is up at $ES_URL"; exit 0 ;;
  "") ;;
  *) say "port $ES_PORT answers with Elasticsearch $running, not 7.x: stop it or set ES_PORT" >&2; exit 1 ;;
esac

# The integ-test zip ships no JDK, so ES_JAVA_HOME must name one; the one `java` resolves to.
java_home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")

# --- user -----------------------------------------------------------------------------------
# Elasticsearch refuses to run as root: a system user without a login shell owns and runs it.
if ! id -u "$ES_USER" >/dev/null 2>&1; then
  say "creating system user $ES_USER"
  as_root useradd --system --user-group --home-dir "$ES_DATA" --no-create-home \
    --shell /usr/sbin/nologin "$ES_USER"
fi

# --- install --------------------------------------------------------------------------------
# Maven verifies the archive against Central's checksum (-C fails on a mismatch) and caches it
# in ~/.m2, so a reinstall costs no download. It runs in an empty directory so no pom.xml nearby
# is taken for a project. The archive is unpacked beside the target and moved into place, so
# an interrupted run never leaves a half-installed version that later runs would take as done.
if [ ! -x "$ES_HOME/bin/elasticsearch" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  say "fetching $ARTIFACT with Maven"
  if ! (cd "$work" && mvn -B -C dependency:copy -Dartifact="$ARTIFACT" -DoutputDirectory="$work") \
    >"$work/mvn.log" 2>&1; then
    grep -m 2 -E "Could not|Failed to" "$work/mvn.log" >&2 || tail -n 20 "$work/mvn.log" >&2
    say "Maven could not fetch $ARTIFACT" >&2
    exit 1
  fi
  say "unpacking into $ES_HOME"
  unzip -q "$work/elasticsearch-$ES_VERSION.zip" -d "$work"
  as_root mkdir -p "$ES_ROOT"
  as_root rm -rf "$ES_HOME.partial"
  as_root mv "$work/elasticsearch-$ES_VERSION" "$ES_HOME.partial"
  as_root chown -R "$ES_USER:$ES_USER" "$ES_HOME.partial"
  as_root mv "$ES_HOME.partial" "$ES_HOME"
  rm -rf "$work"
  trap - EXIT
fi
as_root mkdir -p "$ES_DATA/data" "$ES_LOGS" "$ES_RUN"
as_root chown "$ES_USER:$ES_USER" "$ES_DATA" "$ES_DATA/data" "$ES_LOGS" "$ES_RUN"

# --- analysis plugin ------------------------------------------------------------------------
# The integ-test zip has no analysis-common module, so haystack's index settings (ngram and
# edge_ngram filters) and text mapping (the snowball analyzer) would be refused. The plugin in
# scripts/elasticsearch-analysis provides those three, compiled here against the installed
# server's own jars; it is rebuilt when its source or the server version changes (a running node
# picks a rebuilt plugin up at its next start).
plugin_src=$(cd "$(dirname "$0")" && pwd)/elasticsearch-analysis/PortalAnalysisPlugin.java
plugin_dir=$ES_HOME/plugins/portal-analysis
plugin_sum="$ES_VERSION $(sha256sum "$plugin_src" | cut -d' ' -f1)"
if [ "$(cat "$plugin_dir/.source" 2>/dev/null || true)" != "$plugin_sum" ]; then
  say "building the portal-analysis plugin (ngram, edge_ngram, snowball)"
  build=$(mktemp -d)
  javac -nowarn -Xlint:-options --release 11 -cp "$ES_HOME/lib/*" -d "$build/classes" "$plugin_src"
  jar --create --file "$build/portal-analysis.jar" -C "$build/classes" .
  cat >"$build/plugin-descriptor.properties" <<EOF
description=ngram and edge_ngram token filters and the snowball analyzer that haystack's indexes use
version=1.0.0
name=portal-analysis
classname=portal.elasticsearch.analysis.PortalAnalysisPlugin
java.version=11
elasticsearch.version=$ES_VERSION
EOF
  printf '%s\n' "$plugin_sum" >"$build/.source"
  as_root rm -rf "$plugin_dir"
  as_root mkdir -p "$plugin_dir"
  as_root cp "$build/portal-analysis.jar" "$build/plugin-descriptor.properties" "$build/.source" "$plugin_dir/"
  as_root chown -R "$ES_USER:$ES_USER" "$plugin_dir"
  rm -rf "$build"
fi

# --- kernel ---------------------------------------------------------------------------------
# Bound to 127.0.0.1 with single-node discovery, the bootstrap checks (vm.max_map_count >= 262144
# among them) are not enforced, so a low limit only costs a warning. It still limits how many
# index files can be memory-mapped: raise it where the kernel lets us (a container usually does
# not), and otherwise tell Elasticsearch not to mmap its indexes at all.
allow_mmap=true
if [ "$(cat /proc/sys/vm/max_map_count 2>/dev/null || echo 0)" -lt 262144 ]; then
  if ! as_root sysctl -q -w vm.max_map_count=262144 >/dev/null 2>&1; then
    say "vm.max_map_count stays at $(cat /proc/sys/vm/max_map_count 2>/dev/null): indexes are not mmapped"
    allow_mmap=false
  fi
fi

# --- configuration --------------------------------------------------------------------------
# Written on every start, so a change here reaches an installed node the next time it starts.
# - loopback only, single node: no cluster forming, no bootstrap checks;
# - security off: the tests talk plain HTTP without credentials, as they do to Redis;
# - disk thresholds off: on a nearly full disk Elasticsearch would otherwise stop allocating
#   shards and, at the flood stage, make every index read-only, failing tests for a reason
#   that has nothing to do with them;
# - action.auto_create_index stays at its default (indexes are created on first write).
config=$(
  cat <<EOF
cluster.name: portal
node.name: portal-es
path.data: $ES_DATA/data
path.logs: $ES_LOGS
network.host: 127.0.0.1
http.port: $ES_PORT
transport.port: $((ES_PORT + 100))
discovery.type: single-node
xpack.security.enabled: false
cluster.routing.allocation.disk.threshold_enabled: false
node.store.allow_mmap: $allow_mmap
EOF
)
# A small fixed heap, and the JVM's own logs (GC, crash files, heap dumps) next to the node's
# logs instead of inside the install directory.
jvm=$(
  cat <<EOF
-Xms$ES_HEAP
-Xmx$ES_HEAP
-XX:HeapDumpPath=$ES_DATA
-XX:ErrorFile=$ES_LOGS/hs_err_pid%p.log
-Xlog:disable
-Xlog:all=warning:stderr:utctime,level,tags
-Xlog:gc*,gc+age=trace,safepoint:file=$ES_LOGS/gc.log:utctime,pid,tags:filecount=4,filesize=16m
EOF
)
printf '%s\n' "$config" | as_root tee "$ES_HOME/config/elasticsearch.yml" >/dev/null
printf '%s\n' "$jvm" | as_root tee "$ES_HOME/config/jvm.options.d/portal.options" >/dev/null
as_root chown "$ES_USER:$ES_USER" "$ES_HOME/config/elasticsearch.yml" "$ES_HOME/config/jvm.options.d/portal.options"

# --- start ----------------------------------------------------------------------------------
# Daemonized with a pid file rather than a systemd unit: containers and CI machines have no
# systemd, and `make services` starts it again after a reboot as it does Redis and PostgreSQL.
# A node that is still starting (a run just before this one) is waited for, not started twice.
# The node's JVM (its pid file appears only some seconds into start-up, so look for the process).
node_pid() { pgrep -u "$ES_USER" -f org.elasticsearch.bootstrap.Elasticsearch | head -n 1 || true; }
log_tail() {
  say "last lines of $ES_LOGS/portal.log and of the start-up output:" >&2
  as_root tail -n 40 "$ES_LOGS/portal.log" >&2 2>/dev/null || true
  as_root tail -n 20 "$ES_LOGS/startup.out" >&2 2>/dev/null || true
}
pid=$(node_pid)
if [ -n "$pid" ]; then
  say "Elasticsearch (pid $pid) is running but not answering yet; waiting"
else
  as_root rm -f "$ES_PIDFILE"
  say "starting Elasticsearch $ES_VERSION on $ES_URL as $ES_USER (heap $ES_HEAP)"
  # -d detaches at once; what the JVM prints before its logging is set up (a bad option, a
  # missing Java) goes to startup.out, written as the user so sudo needs no shell redirect.
  if ! as_root runuser -u "$ES_USER" -- env ES_JAVA_HOME="$java_home" ES_PATH_CONF="$ES_HOME/config" \
    sh -c 'ulimit -n 65535 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" -d -p "$1" >"$2" 2>&1' \
    "$ES_HOME/bin/elasticsearch" "$ES_PIDFILE" "$ES_LOGS/startup.out"; then
    say "Elasticsearch did not start" >&2
    log_tail
    exit 1
  fi
fi

# --- health ---------------------------------------------------------------------------------
# Yellow is what a single node reaches (replicas have nowhere to go); green is not waited for.
deadline=$((SECONDS + ES_WAIT))
until curl -fsS -m 10 "$ES_URL/_cluster/health?wait_for_status=yellow&timeout=5s" 2>/dev/null \
  | grep -qE '"status":"(yellow|green)"'; do
  pid=$(node_pid)
  if [ -z "$pid" ]; then
    say "Elasticsearch exited while starting" >&2
    log_tail
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    say "Elasticsearch (pid $pid) is not yellow after ${ES_WAIT}s at $ES_URL" >&2
    log_tail
    exit 1
  fi
  sleep 1
done
say "Elasticsearch $(answering_version) is up at $ES_URL (pid $(node_pid))"
