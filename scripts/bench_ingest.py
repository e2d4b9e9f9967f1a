"""Ingest throughput on a folder of real files: inline, then through Redis with N worker processes.

Each mode gets a fresh PostgreSQL database (or SQLite when --sqlite), a fresh index and its own
Redis database, so the figures are for creating every article from nothing.

    .venv/bin/python scripts/bench_ingest.py ../shared/corpus --workers 2
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def _psql(sql: str, admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)


def _fresh_env(*, tmp: Path, db_name: str, sqlite: bool, pg_admin: str, broker: str | None) -> dict[str, str]:
    env = {**os.environ, "PORTAL_VAR_DIR": str(tmp), "DJANGO_SETTINGS_MODULE": "portal.settings"}
    env.pop("CELERY_BROKER_URL", None)
    if broker:
        env["CELERY_BROKER_URL"] = broker
    if sqlite:
        env.pop("DATABASE_URL", None)
    else:
        _psql(f'DROP DATABASE IF EXISTS "{db_name}"', pg_admin)
        _psql(f'CREATE DATABASE "{db_name}"', pg_admin)
        env["DATABASE_URL"] = pg_admin.rsplit("/", 1)[0] + f"/{db_name}"
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    return env


def _ingest(env: dict[str, str], corpus: Path) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(
        [
            PYTHON,
            "manage.py",
            "ingest",
            str(corpus),
            "--no-progress",
            *([] if "CELERY_BROKER_URL" in env else ["--sync"]),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    summary = next(
        (line for line in result.stdout.splitlines() if line.startswith("批次")), result.stderr[-500:]
    )
    return elapsed, summary


def _work_left(env: dict[str, str]) -> int:
    """Pending ingest items plus articles waiting for the index, as the database records them."""
    sql = (
        "SELECT (SELECT count(*) FROM articles_ingestitem WHERE outcome = 'pending')"
        " + (SELECT count(*) FROM search_indexchange)"
    )
    if "DATABASE_URL" in env:
        import psycopg

        with psycopg.connect(env["DATABASE_URL"]) as conn:
            return conn.execute(sql).fetchone()[0]
    import sqlite3

    with sqlite3.connect(Path(env["PORTAL_VAR_DIR"]) / "portal.sqlite3") as conn:
        return conn.execute(sql).fetchone()[0]


def _settled(*, env: dict[str, str], since: float, timeout: float = 900.0) -> float:
    """Seconds from ``since`` until nothing is pending: every file ingested, every article indexed."""
    while time.perf_counter() - since < timeout:
        if _work_left(env) == 0:
            return time.perf_counter() - since
        time.sleep(0.2)
    raise SystemExit(f"work was still pending after {timeout:.0f} s")


def _index_commits(tmp: Path) -> int:
    """Whoosh commits: the newest generation (creating the index wrote generation 0)."""
    tocs = [
        int(m.group(1))
        for p in (tmp / "whoosh_index").glob("_MAIN_*.toc")
        if (m := re.search(r"_(\d+)\.toc$", p.name))
    ]
    return max(tocs, default=0)


def _worker(*, env: dict[str, str], queue: str, concurrency: int) -> subprocess.Popen:
    command = [PYTHON, "-m", "celery", "-A", "portal", "worker", "-Q", queue, "-c", str(concurrency)]
    command += ["--prefetch-multiplier", "1", "-l", "warning", "-n", f"bench-{queue}@%h"]
    return subprocess.Popen(command, cwd=ROOT, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sqlite", action="store_true", help="use SQLite instead of PostgreSQL")
    parser.add_argument("--pg", default="postgres://portal:portal@127.0.0.1:5432/portal")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()
    files = sum(1 for p in args.corpus.rglob("*") if p.suffix.lower() in {".md", ".markdown"})
    rows = []

    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        env = _fresh_env(
            tmp=Path(tmp), db_name="portal_bench_inline", sqlite=args.sqlite, pg_admin=args.pg, broker=None
        )
        # Warm jieba's cache and Python's imports once so both modes start equal.
        subprocess.run([PYTHON, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True)
        elapsed, summary = _ingest(env, args.corpus)
        # inline, every article is searchable when the command returns
        rows.append(("inline (--sync)", elapsed, elapsed, _index_commits(Path(tmp)), summary))

    import redis

    redis.Redis.from_url(args.redis).flushdb()
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        env = _fresh_env(
            tmp=Path(tmp),
            db_name="portal_bench_workers",
            sqlite=args.sqlite,
            pg_admin=args.pg,
            broker=args.redis,
        )
        workers = [
            _worker(env=env, queue="ingest", concurrency=args.workers),
            # Whoosh has one writer: the index queue always has a single consumer.
            _worker(env=env, queue="index", concurrency=1),
        ]
        try:
            time.sleep(8)  # let the pools start before the clock runs
            started = time.perf_counter()
            elapsed, summary = _ingest(env, args.corpus)
            searchable = _settled(env=env, since=started)
            rows.append(
                (
                    f"Redis + {args.workers} ingest workers + 1 index worker",
                    elapsed,
                    searchable,
                    _index_commits(Path(tmp)),
                    summary,
                )
            )
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=60)
    redis.Redis.from_url(args.redis).flushdb()
    if not args.sqlite:
        for name in ("portal_bench_inline", "portal_bench_workers"):
            _psql(f'DROP DATABASE IF EXISTS "{name}"', args.pg)

    print(f"\n{files} files from {args.corpus} ({'SQLite' if args.sqlite else 'PostgreSQL'})")
    print(f"{'mode':<44} {'ingest s':>8} {'files/s':>8} {'searchable s':>12} {'commits':>8}")
    for mode, elapsed, searchable, commits, summary in rows:
        summary = re.sub(r"\s+", " ", summary)
        print(f"{mode:<44} {elapsed:8.1f} {files / elapsed:8.1f} {searchable:12.1f} {commits:8d}   {summary}")


if __name__ == "__main__":
    main()
