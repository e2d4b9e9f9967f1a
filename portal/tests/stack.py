"""The real background stack for fault tests: a private Redis, Celery workers and beat as processes.

Everything runs as it does in production (``portal.settings``, prefork pools, the same broker
URL for everyone) against the test database, so a test can kill a pool process, a whole
worker or Redis itself and watch what the database says afterwards. The Redis server is the
test's own (a free port, no persistence), so stopping it disturbs nobody and a restart comes
back empty, as `--save "" --appendonly no` would.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import redis
from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], bool], *, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def test_database_url() -> str:
    """The URL of the database the running test uses, for processes started by the test."""
    params = connection.settings_dict
    if connection.vendor != "postgresql":
        raise RuntimeError("fault tests run on PostgreSQL")
    user = quote(params["USER"] or "", safe="")
    password = quote(params["PASSWORD"] or "", safe="")
    auth = f"{user}:{password}@" if password else f"{user}@"
    return f"postgres://{auth}{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"


def children_of(pid: int) -> list[int]:
    """Live child processes of ``pid`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after its closing paren.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
            found.append(int(entry.name))
    return sorted(found)


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1)

    def start(self) -> None:
        """Start empty: no snapshot, no append-only file."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_for(self.answers, timeout=10):
            raise RuntimeError(f"redis-server did not start on port {self.port}")

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def task_ids(self) -> set[str]:
        """Ids of the task messages Redis holds: queued (lists) and delivered unacknowledged."""
        client = self.client()
        bodies: list[bytes] = list(client.hvals("unacked")) if client.type("unacked") == b"hash" else []
        for key in client.scan_iter():
            if client.type(key) == b"list":
                bodies.extend(client.lrange(key, 0, -1))
        ids = set()
        for body in bodies:
            message = json.loads(body)
            message = message[0] if isinstance(message, list) else message  # unacked: [msg, ex, key]
            ids.add(message["headers"]["id"])
        return ids

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


class Stack:
    """Workers and beat as real processes, pointed at the test database and ``redis``."""

    def __init__(
        self, *, redis_server: RedisServer, workdir: Path, sweep_seconds: int = 5, **env: str
    ) -> None:
        self.redis = redis_server
        self.workdir = workdir
        self.sweep_seconds = sweep_seconds
        self.processes: list[subprocess.Popen] = []
        self.extra_env = env
        # Like docker-compose's `restart: unless-stopped`: a worker that exits by itself (not
        # killed by the test) is started again. Celery's worker can exit when Redis goes away
        # while it restores unacknowledged messages (kombu's redis transport raises
        # AttributeError there); a deployment's supervisor restarts it, so the tests do too.
        self.restarts: list[str] = []
        self._spawned: dict[int, tuple[str, list[str]]] = {}
        self._stopped_on_purpose: set[int] = set()
        self._stopping = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, name="stack-supervisor", daemon=True)
        self._supervisor.start()

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DJANGO_DEBUG": "true",
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": self.redis.url,
            "SEARCH_INDEX_DIR": str(settings.SEARCH_INDEX_DIR),
            "JIEBA_CACHE_DIR": str(settings.JIEBA_CACHE_DIR),
            "PORTAL_VAR_DIR": str(self.workdir / "var"),
            "INGEST_INBOX_DIR": str(self.workdir / "inbox"),
            "PIPELINE_SWEEP_SECONDS": str(self.sweep_seconds),
            # The inbox job is not what these tests are about.
            "INGEST_INBOX_INTERVAL": "3600",
            "PYTHONWARNINGS": "ignore",
            **self.extra_env,
        }
        env.pop("PORTAL_TEST_REDIS_URL", None)
        return env

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")  # closed when the process ends
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", *args],
            cwd=BASE_DIR,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group, so the whole worker (pool included) can be killed at once.
            start_new_session=True,
        )
        process.log_path = self.workdir / f"{name}.log"  # type: ignore[attr-defined]
        self.processes.append(process)
        self._spawned[process.pid] = (name, args)
        return process

    def _supervise(self) -> None:
        while not self._stopping.wait(0.5):
            for process in list(self.processes):
                if process.poll() is None or process.pid in self._stopped_on_purpose:
                    continue
                if process.pid not in self._spawned:
                    continue
                name, args = self._spawned.pop(process.pid)
                self.restarts.append(f"{name} exited ({process.returncode})")
                with open(self.workdir / f"{name}.log", "ab") as log:
                    note = f"\n[supervisor] {name} exited with {process.returncode}; starting it again\n"
                    log.write(note.encode())
                self._spawn(name, args)

    def worker(self, *, name: str, queue: str, concurrency: int) -> subprocess.Popen:
        process = self._spawn(
            f"worker-{name}",
            [
                "worker",
                "-Q",
                queue,
                "-c",
                str(concurrency),
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "info",
            ],
        )
        if not wait_for(lambda: len(children_of(process.pid)) >= concurrency, timeout=60):
            raise RuntimeError(f"worker {name} did not start its pool; see {process.log_path}")
        return process

    def beat(self) -> subprocess.Popen:
        return self._spawn("beat", ["beat", "-l", "info", "--schedule", str(self.workdir / "beat-schedule")])

    def log(self, process: subprocess.Popen) -> str:
        return Path(process.log_path).read_text(errors="replace")  # type: ignore[attr-defined]

    def kill_all(self, process: subprocess.Popen) -> None:
        """SIGKILL a worker and its pool at once, as a lost machine or the OOM killer would."""
        self._stopped_on_purpose.add(process.pid)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop(self) -> None:
        self._stopping.set()
        self._supervisor.join(timeout=5)
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@contextmanager
def stack_running(*, redis_server: RedisServer, workdir: Path, **options) -> Iterator[Stack]:
    stack = Stack(redis_server=redis_server, workdir=workdir, **options)
    try:
        yield stack
    finally:
        stack.stop()


def manage(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``manage.py`` as a user would, capturing what they would see."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
