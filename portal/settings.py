"""Settings for the policy-news portal.

This is the one place that reads the environment. Every value has a default that
works on a fresh machine (SQLite and the Whoosh index under ``var/``, Celery tasks
run inline) except production secrets, which must be given when DEBUG is off.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = env_str(name, default).lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {sorted(choices)}, not {value!r}")
    return value


# --- Core -------------------------------------------------------------------
DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    # Only for local development: a production key has no default.
    SECRET_KEY = "dev-insecure-key-do-not-use-in-production-0123456789abcdef"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Registers django-csp's system checks (settings in the old CSP_* format are refused).
    "csp",
    # Swagger UI for /api/docs from ninja's own static files; without the app ninja loads it from a CDN.
    "ninja",
    # search before haystack: its update_index (with a progress bar) overrides haystack's.
    "zhtext",
    "search",
    "haystack",
    "articles",
    "pages",
]

MIDDLEWARE = [
    # First: a request shed for waiting too long must cost nothing else.
    "portal.middleware.QueueTimeoutMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
# SQLite under var/ by default; DATABASE_URL (e.g. postgres://...) switches engines.
if not env_str("DATABASE_URL"):
    # The default SQLite file lives under var/, which a fresh clone does not have yet.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        # A kept connection (DATABASE_CONN_MAX_AGE > 0) is checked before reuse, so a restarted
        # database costs one reconnect, not an error page per worker.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Workers and the web process share the file; wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})
    # WAL: readers (the web process) never wait for a writer (ingest) and a commit is one
    # append to the log, synced at checkpoints (NORMAL) rather than three fsyncs per
    # transaction; a power cut may lose the last commits, never corrupt the file.
    DATABASES["default"]["OPTIONS"].update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation: the portal's statements are short. During a large ingest the repost
    # lookup's estimate (a table growing faster than its statistics) made PostgreSQL compile
    # it every time, 100 ms for a 10 ms query. (An ``options`` in DATABASE_URL comes after,
    # so it can turn JIT back on.)
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = f"-c jit=off {options.get('options', '')}".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# --- Locale ---------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Uploaded ingest files are read into the database at once; keep large uploads off memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Security (production) ------------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Content-Security-Policy ------------------------------------------------------------
# Every script and stylesheet is a file under static/, so neither needs 'unsafe-inline'.
# Images are the exception to 'self': article bodies and covers are hot-linked from the
# source sites (any host, some still on plain http), which the renderer already limits to
# http(s) and loads with referrerpolicy=no-referrer; an image cannot run script, so allowing
# the schemes costs little, while a host list could never keep up with the sources.
# /api/docs widens its own policy in search/api.py.
# The environment switches keep their names, but the values stay lower-case locals here:
# django-csp's check (csp.E001) refuses a setting named like its pre-4.0 ones, CSP_REPORT_URI included.
_csp_report_only = env_bool("CSP_REPORT_ONLY", False)
_csp_report_uri = env_str("CSP_REPORT_URI")
if _csp_report_uri and not (
    _csp_report_uri.startswith("/") or urlparse(_csp_report_uri).scheme in {"http", "https"}
):
    raise ImproperlyConfigured(f"CSP_REPORT_URI must be a path or an http(s) URL, not {_csp_report_uri!r}")
_csp_policy: dict[str, object] = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "https:", "http:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        **({"report-uri": [_csp_report_uri]} if _csp_report_uri else {}),
    }
}
# Report-only sends the same policy without enforcing it, to try a change on real traffic.
# (Browsers ignore frame-ancestors there; X_FRAME_OPTIONS still refuses framing.)
if _csp_report_only:
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _csp_policy
else:
    CONTENT_SECURITY_POLICY = _csp_policy

# --- Web server (gunicorn, portal/gunicorn.conf.py) -------------------------------------
# A request that waited longer than this for a worker (portal/middleware.py measures it) is
# answered 503 at once instead of being run: the server is over capacity, and a reader who waits
# ~10 s at most would get the page too late while fresh requests queued behind it. Below 5 s a
# worker restart at peak load (the others serve alone for ~4 s) would already shed. 0: off.
REQUEST_QUEUE_TIMEOUT_MS = env_int("REQUEST_QUEUE_TIMEOUT_MS", 5000)
if REQUEST_QUEUE_TIMEOUT_MS < 0:
    raise ImproperlyConfigured(f"REQUEST_QUEUE_TIMEOUT_MS must be 0 or more, not {REQUEST_QUEUE_TIMEOUT_MS}")

# --- Celery / Redis -------------------------------------------------------------------
# Without a broker every task runs inline in the calling process, so a first run
# needs no Redis. With CELERY_BROKER_URL set, real workers do the work.
#
# The database is the record of all work (ingest items, the index backlog); a message on the
# broker only wakes a worker. Losing messages (a killed worker, Redis restarted empty) costs
# latency, never data: the sweep below re-queues what the database says is still to do.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
if CELERY_BROKER_URL and urlparse(CELERY_BROKER_URL).scheme not in {"redis", "rediss", "memory"}:
    raise ImproperlyConfigured(f"CELERY_BROKER_URL must be a redis:// URL, not {CELERY_BROKER_URL!r}")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if not CELERY_BROKER_URL:
    # Celery still builds a producer for inline tasks; an in-memory transport keeps it from
    # reaching for an AMQP server on localhost.
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "ingest"
CELERY_TASK_ROUTES = {
    "articles.tasks.*": {"queue": "ingest"},
    "search.tasks.*": {"queue": "index"},
}
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TASK_MAX_RETRIES = env_int("CELERY_TASK_MAX_RETRIES", 3)
# A message is acknowledged when its task ends, and given back to the queue when the process
# running it dies (SIGKILL, the OOM killer): without the second setting Celery acknowledges
# the message of a lost process as if the task had run.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT * 4}
# A broker that is down must be reported in seconds, not after minutes of retries: the work is
# in the database already and the sweep sends its wake-up once the broker is back.
CELERY_BROKER_CONNECTION_TIMEOUT = 3.0
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.2, "interval_step": 0.5}
# Workers lower their CPU priority by this much (nice): ingest and indexing can wait, a reader
# cannot. With workers and web on the same cores, the web keeps its request rate during an ingest.
WORKER_NICENESS = env_int("WORKER_NICENESS", 10)
# How often beat runs the sweeps; workers also sweep whenever they (re)connect to the broker.
PIPELINE_SWEEP_SECONDS = env_int("PIPELINE_SWEEP_SECONDS", 60)
CELERY_BEAT_SCHEDULE = {
    "ingest-inbox": {
        "task": "articles.tasks.ingest_inbox",
        "schedule": float(env_int("INGEST_INBOX_INTERVAL", 60)),
    },
    "ingest-sweep": {
        "task": "articles.tasks.ingest_sweep",
        "schedule": float(PIPELINE_SWEEP_SECONDS),
        # A sweep that waited longer than its period is superseded by the next one.
        "options": {"expires": float(PIPELINE_SWEEP_SECONDS)},
    },
    "index-sweep": {
        "task": "search.tasks.index_sweep",
        "schedule": float(PIPELINE_SWEEP_SECONDS),
        "options": {"expires": float(PIPELINE_SWEEP_SECONDS)},
    },
}

# --- Ingest ------------------------------------------------------------------------
INGEST_INBOX_DIR = Path(env_str("INGEST_INBOX_DIR", str(VAR_DIR / "inbox")))
# A file taken into the inbox's processing/ but never recorded (its tick died) is taken again
# after this long; a live tick records its files within milliseconds.
INGEST_INBOX_STRANDED_SECONDS = env_int("INGEST_INBOX_STRANDED_SECONDS", 300)
# Files above this size are recorded as failed instead of being parsed.
INGEST_MAX_FILE_BYTES = env_int("INGEST_MAX_FILE_BYTES", 5 * 1024 * 1024)
# Archives (.zip): the archive itself, how many article files, and their total size once
# unpacked. The last two are read from the archive's directory before anything is inflated.
INGEST_MAX_ARCHIVE_BYTES = env_int("INGEST_MAX_ARCHIVE_BYTES", 50 * 1024 * 1024)
INGEST_MAX_ARCHIVE_MEMBERS = env_int("INGEST_MAX_ARCHIVE_MEMBERS", 5000)
INGEST_MAX_ARCHIVE_TOTAL_BYTES = env_int("INGEST_MAX_ARCHIVE_TOTAL_BYTES", 200 * 1024 * 1024)
# A worker's claim on an item outlives the hard time limit of the task that holds it, so a
# claim that expired can only belong to a process that is gone.
INGEST_CLAIM_SECONDS = CELERY_TASK_TIME_LIMIT + 60
# An item whose processing killed its process this many times is recorded as failed rather
# than handed to the next worker again (a file that always exhausts memory, say).
INGEST_MAX_ATTEMPTS = env_int("INGEST_MAX_ATTEMPTS", 5)
# Article files one worker message names, drafted one by one and then written in one
# transaction (new articles in a few statements for all): fewer messages, fewer and larger
# writes; a batch also holds the write lock this long.
INGEST_BATCH_FILES = env_int("INGEST_BATCH_FILES", 50)
# Inline mode (no broker): the admin's run page processes pending items in steps this long.
INGEST_INLINE_STEP_SECONDS = env_int("INGEST_INLINE_STEP_SECONDS", 3)
# Processes `ingest --sync` works a batch off with (forks sharing the items): every core,
# up to 4 (beyond that SQLite's single writer is the limit).
INGEST_INLINE_JOBS = env_int("INGEST_INLINE_JOBS", min(os.cpu_count() or 1, 4))

# --- Search index ------------------------------------------------------------------------
SEARCH_BACKEND = env_choice("SEARCH_BACKEND", "whoosh", {"whoosh", "elasticsearch"})
SEARCH_INDEX_DIR = Path(env_str("SEARCH_INDEX_DIR", str(VAR_DIR / "whoosh_index")))
# Memory each process may keep for arrays read from index segments (kept across commits).
# Postings and positions are read in place from the segments' posting arrays (shared page
# cache); this holds what queries copy out of them, and the facet and date columns.
SEARCH_SEGMENT_CACHE_MB = env_int("SEARCH_SEGMENT_CACHE_MB", 128)
# The index worker commits at most this often while an ingest runs: each commit costs every web
# process a searcher renewal, so its changes are gathered for a few seconds and written
# together. Once no ingest item waits for a worker (the last batches are being done, or
# there is no ingest), changes are committed as they come.
SEARCH_COMMIT_INTERVAL_SECONDS = env_int("SEARCH_COMMIT_INTERVAL_SECONDS", 5)
# How long a writer waits for Whoosh's lock before its task gives up and retries later.
SEARCH_WRITER_LOCK_SECONDS = env_int("SEARCH_WRITER_LOCK_SECONDS", 120)
# update_index / rebuild_index into an empty Whoosh index: processes (each writes whole
# segments of SEARCH_BUILD_BATCH articles; memory per process grows with the batch).
SEARCH_BUILD_JOBS = env_int("SEARCH_BUILD_JOBS", min(os.cpu_count() or 1, 4))
SEARCH_BUILD_BATCH = env_int("SEARCH_BUILD_BATCH", 2000)
# Whoosh segments merge by tiers (search.engines.whoosh.merging): FANOUT segments of a tier
# (the first holds up to FLOOR_DOCS live articles, each next one FANOUT times more) become
# one; a commit merges inline only a group of at most INLINE_DOCS, bigger ones run beside it.
SEARCH_MERGE_FLOOR_DOCS = env_int("SEARCH_MERGE_FLOOR_DOCS", 1000)
SEARCH_MERGE_FANOUT = env_int("SEARCH_MERGE_FANOUT", 8)
SEARCH_MERGE_INLINE_DOCS = env_int("SEARCH_MERGE_INLINE_DOCS", 500)
# The Elasticsearch engine (SEARCH_BACKEND=elasticsearch): the node and the index it uses.
ELASTICSEARCH_URL = env_str("ELASTICSEARCH_URL", "http://127.0.0.1:9200/")
# A cluster's nodes, comma-separated: the client spreads requests over them and goes on with
# the others when one is down.
ELASTICSEARCH_URLS = [url.strip() for url in ELASTICSEARCH_URL.split(",") if url.strip()]
ELASTICSEARCH_INDEX = env_str("ELASTICSEARCH_INDEX", "policy_news")
if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,199}", ELASTICSEARCH_INDEX):
    raise ImproperlyConfigured(
        f"ELASTICSEARCH_INDEX must be a lower-case Elasticsearch index name, not {ELASTICSEARCH_INDEX!r}"
    )
# The haystack connection of each engine; SEARCH_BACKEND picks the one the site uses, and a
# command's --engine (search_eval) another. Errors from the index must surface, not turn
# into empty result pages: SILENTLY_FAIL is off.
SEARCH_ENGINE_CONNECTIONS = {
    "whoosh": {
        "ENGINE": "search.engines.whoosh.backend.ChineseWhooshEngine",
        "PATH": str(SEARCH_INDEX_DIR),
        "SILENTLY_FAIL": False,
    },
    # search.engines.elasticsearch: jieba's words indexed as whitespace-separated tokens.
    "elasticsearch": {
        "ENGINE": "search.engines.elasticsearch.backend.ChineseElasticsearchEngine",
        "URL": ELASTICSEARCH_URLS if len(ELASTICSEARCH_URLS) > 1 else ELASTICSEARCH_URL,
        "INDEX_NAME": ELASTICSEARCH_INDEX,
        "REPLICAS": env_int("ELASTICSEARCH_REPLICAS", 0),
        # a new index's shards (an existing one keeps its own): one per core of a search node
        # answers a query in parallel; see README "Scaling out" for a cluster
        "SHARDS": env_int("ELASTICSEARCH_SHARDS", 2),
        # seconds per request: a bulk write of a batch on a busy node takes more than the
        # client's default 10
        "TIMEOUT": env_int("ELASTICSEARCH_TIMEOUT", 30),
        "SILENTLY_FAIL": False,
    },
}
HAYSTACK_CONNECTIONS = {"default": dict(SEARCH_ENGINE_CONNECTIONS[SEARCH_BACKEND])}
HAYSTACK_SIGNAL_PROCESSOR = "search.signals.QueuedSignalProcessor"
HAYSTACK_SEARCH_RESULTS_PER_PAGE = 20

# --- jieba dictionary -------------------------------------------------------------------
JIEBA_USER_DICT = Path(env_str("JIEBA_USER_DICT", str(BASE_DIR / "zhtext" / "dicts" / "policy_terms.txt")))
JIEBA_CACHE_DIR = Path(env_str("JIEBA_CACHE_DIR", str(VAR_DIR / "jieba")))

# --- Logging -------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "jieba": {"level": "WARNING"},
        # The Elasticsearch client logs every request at INFO (a line per search).
        "elasticsearch": {"level": "WARNING"},
        # Inline tasks would print a "succeeded" line per article into command output.
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"},
        "search.tasks": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"},
    },
}
