"""``rebuild_index`` over a real archive grown by copies: rate, longest wait between batches,
merge time, index size and peak RSS at each size.

The corpus folders are ingested once (inline) into a fresh database. The stored articles are
then copied inside the database up to each size: a copy keeps the original's text, stored
terms, keywords, story, authors, tags and policy mentions under a new URL key, so the index
gets what a real archive of that size gives it without ingesting every copy. At each size
``rebuild_index --noinput`` runs from nothing, in a process of its own.

    .venv/bin/python scripts/bench_rebuild.py ../shared/corpus ../shared/corpus-policy \
        --sizes 10000,20000,50000,100000 --sqlite

"Longest wait" is the longest time between two finished batches as the command's progress
bar shows them (each build process writes whole segments of ``SEARCH_BUILD_BATCH``
articles), and between the last batch and the end of the merges.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import PYTHON, ROOT, _database_bytes, _folder_bytes, _fresh_env, _ingest, _psql

# Runs in the bench's database (``manage.py shell -c``): copies of the first ``originals``
# articles, numbered ``first`` .. ``last``, with their many-to-many rows and mentions. The URL
# key stays 64 characters: the original's first 54 and "-" plus the copy's 9-digit number.
COPY = r"""
import sys
from django.db import connection, transaction
from articles.models import Article

originals, first, last = {originals}, {first}, {last}
fields = [f.column for f in Article._meta.concrete_fields if f.column not in ("id", "url_key")]
columns = ", ".join(fields)
picked = ", ".join("o." + c for c in fields)
if connection.vendor == "postgresql":
    key = "left(o.url_key, 54) || '-' || lpad(CAST(n.r AS text), 9, '0')"
    pair = "c.url_key = left(o.url_key, 54) || '-' || lpad(CAST(n.r AS text), 9, '0')"
else:
    # (%% : the statements take parameters, so a literal percent sign is doubled)
    key = "substr(o.url_key, 1, 54) || '-' || printf('%%09d', n.r)"
    pair = "c.url_key = substr(o.url_key, 1, 54) || '-' || printf('%%09d', n.r)"
numbers = "WITH RECURSIVE n(r) AS (SELECT %s UNION ALL SELECT r + 1 FROM n WHERE r < %s) "
originals_sql = "(SELECT * FROM articles_article ORDER BY id LIMIT %s) o"
links = [
    ("articles_article_authors", "article_id", "author_id"),
    ("articles_article_tags", "article_id", "tag_id"),
    ("articles_policymention", "article_id", "document_id, raw"),
]
with transaction.atomic(), connection.cursor() as cursor:
    cursor.execute(
        numbers + f"INSERT INTO articles_article (url_key, {{columns}}) "
        f"SELECT {{key}}, {{picked}} FROM {{originals_sql}} CROSS JOIN n",
        [first, last, originals],
    )
    for table, owner, rest in links:
        other = ", ".join("m." + c.strip() for c in rest.split(","))
        cursor.execute(
            numbers + f"INSERT INTO {{table}} ({{owner}}, {{rest}}) SELECT c.id, {{other}} "
            f"FROM {{originals_sql}} CROSS JOIN n JOIN articles_article c ON {{pair}} "
            f"JOIN {{table}} m ON m.{{owner}} = o.id",
            [first, last, originals],
        )
print(Article.objects.count())
"""


def _copy(env: dict[str, str], *, originals: int, first: int, last: int) -> int:
    """Copies ``first`` .. ``last`` of the first ``originals`` articles; returns the article count."""
    code = COPY.format(originals=originals, first=first, last=last)
    result = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode:
        raise SystemExit(f"copying articles failed:\n{result.stderr[-2000:]}")
    return int(result.stdout.strip().splitlines()[-1])


def _articles(env: dict[str, str]) -> int:
    code = "from articles.models import Article; print(Article.objects.count())"
    result = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stdout.strip().splitlines()[-1])


_BAR_RE = re.compile(r"索引 articles:\s*\d+%\|[^|]*\|\s*(\d+)/(\d+)")


def _rebuild(env: dict[str, str]) -> dict[str, float]:
    """``rebuild_index --noinput`` in a child: seconds, the longest wait between batches,
    the merge time after the last batch, and the child's peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    child = subprocess.Popen(
        [PYTHON, "manage.py", "rebuild_index", "--noinput"],
        cwd=ROOT,
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert child.stdout is not None
    last_done, last_at, longest, tail = 0, started, 0.0, b""
    log: list[str] = []
    for chunk in iter(lambda: child.stdout.read1(4096), b""):  # type: ignore[union-attr]
        now = time.perf_counter()
        text = (tail + chunk).decode("utf-8", errors="replace")
        parts = re.split(r"[\r\n]", text)
        tail = parts.pop().encode()
        for part in parts:
            log.append(part)
            match = _BAR_RE.search(part)
            if match and int(match.group(1)) > last_done:
                longest = max(longest, now - last_at)
                last_done, last_at = int(match.group(1)), now
    if child.wait():
        raise SystemExit("rebuild_index failed:\n" + "\n".join(log[-20:]))
    ended = time.perf_counter()
    # a child's ru_maxrss counts only when it is the largest so far: a run smaller than an
    # earlier one shows the earlier peak; the sizes grow, so each run is the largest
    peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
    return {
        "seconds": ended - started,
        "longest_wait": max(longest, ended - last_at),
        "after_last_batch": ended - last_at,
        "peak_rss_mb": peak / 1024,
        "merges": sum("合并索引段" in line for line in log),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("corpus", type=Path, nargs="+", help="folders of .md files")
    parser.add_argument("--sizes", default="10000,20000,50000,100000", help="archive sizes, comma-separated")
    parser.add_argument("--sqlite", action="store_true", help="use SQLite instead of PostgreSQL")
    parser.add_argument("--pg", default="postgres://portal:portal@127.0.0.1:5432/portal")
    parser.add_argument(
        "--keep", type=Path, default=None, help="keep the database and index in this (new) folder"
    )
    args = parser.parse_args()
    sizes = sorted({int(n) for n in args.sizes.split(",") if n.strip()})
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-rebuild-") as work:
        var = args.keep or Path(work) / "var"
        env = _fresh_env(
            tmp=var, db_name="portal_bench_rebuild", sqlite=args.sqlite, pg_admin=args.pg, broker=None
        )
        elapsed, summary = _ingest_all(env, args.corpus)
        originals = _articles(env)
        print(f"ingested {originals} articles in {elapsed:.0f} s: {summary}", flush=True)
        copies = 0
        for size in sizes:
            wanted = -(-(size - originals) // originals) if size > originals else 0
            if wanted > copies:
                count = _copy(env, originals=originals, first=copies + 1, last=wanted)
                copies = wanted
            else:
                count = _articles(env)
            figures = _rebuild(env)
            figures["articles"] = count
            figures["index_mb"] = _folder_bytes(var / "whoosh_index") / 2**20
            figures["db_mb"] = _database_bytes(env) / 2**20
            rows.append(figures)
            print(
                f"{count} articles: {count / figures['seconds']:.0f}/s, {figures['seconds']:.0f} s,"
                f" longest wait {figures['longest_wait']:.1f} s",
                flush=True,
            )
    if not args.sqlite and not args.keep:
        _psql('DROP DATABASE IF EXISTS "portal_bench_rebuild"', args.pg)
    database = "SQLite" if args.sqlite else "PostgreSQL"
    print(f"\nrebuild_index from nothing ({database}, {os.cpu_count()} cores)")
    print(
        f"{'articles':>9} {'seconds':>8} {'articles/s':>10} {'longest wait s':>14} {'merging s':>9}"
        f" {'index MB':>9} {'db MB':>7} {'peak RSS MB':>11}"
    )
    for row in rows:
        print(
            f"{row['articles']:>9} {row['seconds']:>8.0f} {row['articles'] / row['seconds']:>10.0f}"
            f" {row['longest_wait']:>14.1f} {row['after_last_batch']:>9.1f} {row['index_mb']:>9.0f}"
            f" {row['db_mb']:>7.0f} {row['peak_rss_mb']:>11.0f}"
        )


def _ingest_all(env: dict[str, str], folders: list[Path]) -> tuple[float, str]:
    """Every folder ingested in turn (the ingest command takes one folder)."""
    total, summaries = 0.0, []
    for folder in folders:
        elapsed, summary = _ingest(env, folder)
        total += elapsed
        summaries.append(summary)
    return total, "; ".join(summaries)


if __name__ == "__main__":
    main()
