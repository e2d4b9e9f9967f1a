"""Ingest throughput on folders of real files: inline, then through Redis with N worker processes.

Each mode gets a fresh PostgreSQL database (or SQLite when --sqlite), a fresh index and its own
Redis database, so the figures are for creating every article from nothing.

``--files N`` copies the folders' files until there are at least N, each copy under a new URL
(``https://bench.invalid/copy-K/<name>``; files without a URL get one too), so every copy is a
new article — and a repost of the original, as a real archive is full of.

    .venv/bin/python scripts/bench_ingest.py ../shared/corpus --workers 2
    .venv/bin/python scripts/bench_ingest.py ../shared/corpus ../shared/corpus-policy --files 2000 --sqlite

``--curve 10000,20000,50000,100000`` grows one database and index step by step (inline ingest of
each step's new files) and prints, at each size, the step's ingest rate, the search latency
(p50/p95 over a fixed query list, warm), the database and index sizes and the peak RSS of the
ingest processes so far: how the cost grows with the archive.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
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
    env = {
        **os.environ,
        "PORTAL_VAR_DIR": str(tmp),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        # as deployed: DEBUG would wrap every cursor to record its queries
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "bench-ingest-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz",
    }
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


_URL_LINE_RE = re.compile(r"^url:.*$", re.MULTILINE)


def copy_with_url(text: str, *, url: str) -> str:
    """The file with its front matter's ``url`` replaced (or added when it has none)."""
    if not text.startswith("---"):
        return f"---\nurl: {url}\n---\n{text}"
    end = text.find("\n---", 3)
    head, rest = (text[:end], text[end:]) if end != -1 else (text, "")
    if _URL_LINE_RE.search(head):
        head = _URL_LINE_RE.sub(lambda _m: f"url: {url}", head, count=1)
    else:
        head = head.replace("---", f"---\nurl: {url}", 1)
    return head + rest


def corpus_build(*, folders: list[Path], files: int, into: Path) -> int:
    """Copies of the folders' article files in ``into``, at least ``files`` of them (the
    originals once, then copies under new URLs). Returns how many were written."""
    sources = sorted(
        p for folder in folders for p in folder.rglob("*") if p.suffix.lower() in {".md", ".markdown"}
    )
    if not sources:
        raise SystemExit(f"no .md files in {', '.join(map(str, folders))}")
    written = copy = 0
    while written < max(files, len(sources)):
        target = into / f"copy-{copy}"
        target.mkdir(parents=True)
        for number, path in enumerate(sources):
            text = path.read_text(encoding="utf-8", errors="replace")
            if copy:
                text = copy_with_url(text, url=f"https://bench.invalid/copy-{copy}/{number}-{path.stem}")
            (target / f"{number:05d}-{path.name}").write_text(text, encoding="utf-8")
            written += 1
        copy += 1
    return written


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


# What the latency probe asks at each size: words, a phrase, an issuer, a document kind.
PROBE = r"""
import json, time
from search.selectors import SearchParams, article_search
queries = ["数据安全", "网络安全 法", "个人信息保护", "工业和信息化部", "人工智能", "数据出境",
           "通知", "标准", "勒索软件", '"关键信息基础设施"']
for q in queries:
    article_search(params=SearchParams(q=q))
times = []
for _ in range(5):
    for q in queries:
        started = time.perf_counter()
        article_search(params=SearchParams(q=q))
        times.append((time.perf_counter() - started) * 1000)
times.sort()
print(json.dumps({"p50": times[len(times) // 2], "p95": times[int(len(times) * 0.95)]}))
"""


def _folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _database_bytes(env: dict[str, str]) -> int:
    if "DATABASE_URL" in env:
        import psycopg

        with psycopg.connect(env["DATABASE_URL"]) as conn:
            return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    var = Path(env["PORTAL_VAR_DIR"])
    return sum(p.stat().st_size for p in var.glob("portal.sqlite3*"))


def _latency(env: dict[str, str]) -> dict[str, float]:
    probe = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    lines = [line for line in probe.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"latency probe failed: {probe.stderr[-800:]}")
    return json.loads(lines[-1])


def curve_run(*, args: argparse.Namespace, sizes: list[int]) -> None:
    """One database grown to each size in turn (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="bench-curve-") as work:
        work_path = Path(work)
        corpus_build(folders=args.corpus, files=sizes[-1], into=work_path / "all")
        files = sorted((work_path / "all").rglob("*.md"))
        var = args.keep or work_path / "var"
        env = _fresh_env(
            tmp=var,
            db_name="portal_bench_curve",
            sqlite=args.sqlite,
            pg_admin=args.pg,
            broker=None,
        )
        subprocess.run([PYTHON, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True)
        rows = []
        done = 0
        for size in sizes:
            step = work_path / f"step-{size}"
            step.mkdir()
            for path in files[done:size]:
                os.link(path, step / f"{path.parent.name}-{path.name}")
            elapsed, summary = _ingest(env, step)
            latency = _latency(env)
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            rows.append(
                (
                    size,
                    (size - done) / elapsed,
                    latency,
                    _database_bytes(env) / 2**20,
                    _folder_bytes(var / "whoosh_index") / 2**20,
                    peak_mb,
                    summary,
                )
            )
            done = size
            print(f"{size} articles: {rows[-1][1]:.1f} files/s, {summary}", flush=True)
    if not args.sqlite and not args.keep:
        _psql('DROP DATABASE IF EXISTS "portal_bench_curve"', args.pg)
    database = "SQLite" if args.sqlite else "PostgreSQL"
    print(f"\ninline ingest, one {database} database and Whoosh index grown step by step")
    heads = f"{'p50 ms':>7} {'p95 ms':>7} {'db MB':>7} {'index MB':>9} {'peak RSS MB':>11}"
    print(f"{'articles':>9} {'step files/s':>12} {heads}")
    for size, rate, latency, db_mb, index_mb, peak_mb, _summary in rows:
        print(
            f"{size:>9} {rate:>12.1f} {latency['p50']:>7.1f} {latency['p95']:>7.1f} {db_mb:>7.0f}"
            f" {index_mb:>9.0f} {peak_mb:>11.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus", type=Path, nargs="+", help="folders of .md files")
    parser.add_argument("--files", type=int, default=0, help="copy the files until there are this many")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--modes", default="inline,workers", help="inline, workers or both (comma-separated)")
    parser.add_argument("--sqlite", action="store_true", help="use SQLite instead of PostgreSQL")
    parser.add_argument("--pg", default="postgres://portal:portal@127.0.0.1:5432/portal")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--curve", default="", help="sizes to grow one database to, e.g. 10000,20000")
    parser.add_argument(
        "--keep", type=Path, default=None, help="--curve: keep the database and index in this (new) folder"
    )
    args = parser.parse_args()
    if args.curve:
        sizes = sorted({int(n) for n in args.curve.split(",") if n.strip()})
        curve_run(args=args, sizes=sizes)
        return
    modes = {m.strip() for m in args.modes.split(",") if m.strip()}
    if not modes <= {"inline", "workers"}:
        parser.error("--modes takes inline and/or workers")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-corpus-") as corpus:
        files = corpus_build(folders=args.corpus, files=args.files, into=Path(corpus))
        _modes_run(args=args, modes=modes, corpus=Path(corpus), rows=rows)

    label = " + ".join(str(p) for p in args.corpus)
    print(f"\n{files} files from {label} ({'SQLite' if args.sqlite else 'PostgreSQL'})")
    heads = f"{'ingest s':>8} {'files/s':>8} {'searchable s':>12} {'searchable/s':>12} {'commits':>8}"
    print(f"{'mode':<44} {heads}")
    for mode, elapsed, searchable, commits, summary in rows:
        summary = re.sub(r"\s+", " ", summary)
        print(
            f"{mode:<44} {elapsed:8.1f} {files / elapsed:8.1f} {searchable:12.1f} {files / searchable:12.1f}"
            f" {commits:8d}   {summary}"
        )


def _modes_run(*, args: argparse.Namespace, modes: set[str], corpus: Path, rows: list) -> None:
    if "inline" in modes:
        _inline_run(args=args, corpus=corpus, rows=rows)
    if "workers" in modes:
        _workers_run(args=args, corpus=corpus, rows=rows)


def _inline_run(*, args: argparse.Namespace, corpus: Path, rows: list) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        env = _fresh_env(
            tmp=Path(tmp), db_name="portal_bench_inline", sqlite=args.sqlite, pg_admin=args.pg, broker=None
        )
        # Warm jieba's cache and Python's imports once so both modes start equal.
        subprocess.run([PYTHON, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True)
        elapsed, summary = _ingest(env, corpus)
        # inline, every article is searchable when the command returns
        rows.append(("inline (--sync)", elapsed, elapsed, _index_commits(Path(tmp)), summary))
    if not args.sqlite:
        _psql('DROP DATABASE IF EXISTS "portal_bench_inline"', args.pg)


def _workers_run(*, args: argparse.Namespace, corpus: Path, rows: list) -> None:
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    # (the index worker's background merge may still be removing its files while the folder is)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-", ignore_cleanup_errors=True) as tmp:
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
            elapsed, summary = _ingest(env, corpus)
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
        _psql('DROP DATABASE IF EXISTS "portal_bench_workers"', args.pg)


if __name__ == "__main__":
    main()
