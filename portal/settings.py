"""Settings for the policy-news portal.

This is the one place that reads the environment. Every value has a default that
works on a fresh machine (SQLite and the Whoosh index under ``var/``, Celery tasks
run inline) except production secrets, which must be given when DEBUG is off.
"""

from __future__ import annotations

import os
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
    # search before haystack: its update_index (with a progress bar) overrides haystack's.
    "search",
    "haystack",
    "articles",
]

MIDDLEWARE = [
    # First: a request shed for waiting too long must cost nothing else.
    "portal.middleware.QueueTimeoutMiddleware",
    "django.middleware.security.SecurityMiddleware",
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
    DATABASES["default"]["OPTIONS"].update({"timeout": 30, "transaction_mode": "IMMEDIATE"})
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
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT * 4}
CELERY_BEAT_SCHEDULE = {
    "ingest-inbox": {
        "task": "articles.tasks.ingest_inbox",
        "schedule": float(env_int("INGEST_INBOX_INTERVAL", 60)),
    },
}

# --- Ingest ------------------------------------------------------------------------
INGEST_INBOX_DIR = Path(env_str("INGEST_INBOX_DIR", str(VAR_DIR / "inbox")))
# Files above this size are recorded as failed instead of being parsed.
INGEST_MAX_FILE_BYTES = env_int("INGEST_MAX_FILE_BYTES", 5 * 1024 * 1024)

# --- Search index ------------------------------------------------------------------------
SEARCH_BACKEND = env_choice("SEARCH_BACKEND", "whoosh", {"whoosh", "elasticsearch"})
SEARCH_INDEX_DIR = Path(env_str("SEARCH_INDEX_DIR", str(VAR_DIR / "whoosh_index")))
# Memory each process may keep for arrays read from index segments (kept across commits).
SEARCH_SEGMENT_CACHE_MB = env_int("SEARCH_SEGMENT_CACHE_MB", 512)
# Prefix of the broker-Redis keys with which index tasks coalesce (pending ids, done stamps).
SEARCH_INDEX_PENDING_KEY = env_str("SEARCH_INDEX_PENDING_KEY", "portal:search:pending")
if SEARCH_BACKEND == "whoosh":
    HAYSTACK_CONNECTIONS = {
        "default": {
            "ENGINE": "search.backends.ChineseWhooshEngine",
            "PATH": str(SEARCH_INDEX_DIR),
        }
    }
else:
    HAYSTACK_CONNECTIONS = {
        "default": {
            "ENGINE": "haystack.backends.elasticsearch7_backend.Elasticsearch7SearchEngine",
            "URL": env_str("ELASTICSEARCH_URL", "http://127.0.0.1:9200/"),
            "INDEX_NAME": env_str("ELASTICSEARCH_INDEX", "policy_news"),
        }
    }
# Errors from the index must surface, not turn into empty result pages.
HAYSTACK_CONNECTIONS["default"]["SILENTLY_FAIL"] = False
HAYSTACK_SIGNAL_PROCESSOR = "search.signals.QueuedSignalProcessor"
HAYSTACK_SEARCH_RESULTS_PER_PAGE = 20

# --- jieba dictionary -------------------------------------------------------------------
JIEBA_USER_DICT = Path(env_str("JIEBA_USER_DICT", str(BASE_DIR / "search" / "dicts" / "policy_terms.txt")))
JIEBA_CACHE_DIR = Path(env_str("JIEBA_CACHE_DIR", str(VAR_DIR / "jieba")))

# --- Logging -------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "jieba": {"level": "WARNING"},
        # Inline tasks would print a "succeeded" line per article into command output.
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"},
        "search.tasks": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"},
    },
}
