"""Real gunicorn, started from the repo's config as a subprocess, serving the test database.

The server runs with production settings (DEBUG off, collected static files) against the
database and index of the running test session, so it sees the rows a transactional test
committed. Everything it writes goes to a temporary folder.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

REPO_DIR = Path(__file__).resolve().parents[2]
GUNICORN_CONFIG = REPO_DIR / "portal" / "gunicorn.conf.py"
LOAD_TEST_SCRIPT = REPO_DIR / "scripts" / "load_test.py"
# Booting imports Django and warms jieba and the index in every worker (post_worker_init).
START_TIMEOUT = 60.0


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]


def database_url() -> str:
    """The test database as a DATABASE_URL, for a process outside pytest-django."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # During the session the test database's NAME is its file path.
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    user = quote(db["USER"] or "", safe="")
    password = quote(db["PASSWORD"] or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgres://{credentials}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def production_env(*, var_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    # Nothing of this shell's gunicorn or Django overrides: the repo's config is what is tested.
    skip = ("DJANGO_", "GUNICORN_", "PYTEST_", "WEB_CONCURRENCY", "REQUEST_QUEUE_TIMEOUT_MS", "DATABASE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "live-gunicorn-test-only-" + "k" * 40,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": database_url(),
            "SEARCH_INDEX_DIR": str(settings.HAYSTACK_CONNECTIONS["default"]["PATH"]),
            "PORTAL_VAR_DIR": str(var_dir),
            "DJANGO_STATIC_ROOT": str(var_dir / "staticfiles"),
            "JIEBA_CACHE_DIR": str(settings.JIEBA_CACHE_DIR),
            "DATABASE_CONN_MAX_AGE": "60",  # as docker-compose runs it
        }
    )
    env.pop("CELERY_BROKER_URL", None)
    env.update(extra or {})
    return env


def static_collect(env: dict[str, str]) -> None:
    # DEBUG off serves hashed static names from a manifest, as in production.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=REPO_DIR,
        env=env,
        check=True,
        timeout=120,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_status(url: str, timeout: float = 5.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


@contextmanager
def gunicorn_running(
    *,
    var_dir: Path,
    env: dict[str, str],
    args: tuple[str, ...] = (),
    ready_path: str = "/api/search?page_size=1",
) -> Iterator[LiveServer]:
    """gunicorn -c portal/gunicorn.conf.py on a free loopback port until the block ends."""
    port = free_port()
    log_path = var_dir / "gunicorn.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        str(GUNICORN_CONFIG),
        "-b",
        f"127.0.0.1:{port}",
        *args,
        "portal.wsgi",
    ]
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(command, cwd=REPO_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = LiveServer(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while http_status(server.url + ready_path) != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"gunicorn did not start:\n{server.log()}")
            time.sleep(0.25)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
