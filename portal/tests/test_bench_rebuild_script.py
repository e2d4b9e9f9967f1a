"""scripts/bench_rebuild.py end to end on a few files: the copies it makes in the database are
whole articles (authors and policy mentions too), and each rebuild indexes every one of them."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from whoosh import index as whoosh_index

REPO_DIR = Path(__file__).resolve().parents[2]
FIXTURES = REPO_DIR / "articles" / "tests" / "fixtures"
# one with an author line, one naming policy documents in 《》, two more
FILES = ("generic.md", "wechat_basic.md", "freebuf.md", "anquanke.md")


def test_copies_carry_their_links_and_every_size_is_rebuilt_whole(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in FILES:
        shutil.copy(FIXTURES / name, corpus / name)
    var = tmp_path / "var"
    result = subprocess.run(
        [
            sys.executable,
            "scripts/bench_rebuild.py",
            str(corpus),
            "--sizes",
            "10,20",
            "--sqlite",
            "--keep",
            str(var),
        ],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    # 4 originals: 2 copies each reach 10 (12 articles), 4 copies each reach 20
    rows = re.findall(r"^\s+(\d+)\s+(\d+)\s+(\d+)\s+[\d.]+\s+[\d.]+\s+\d+\s+\d+\s+\d+$", result.stdout, re.M)
    assert [int(r[0]) for r in rows] == [12, 20], result.stdout

    with sqlite3.connect(var / "portal.sqlite3") as db:
        originals = [r[0] for r in db.execute("SELECT id FROM articles_article ORDER BY id LIMIT 4")]
        assert db.execute("SELECT count(*) FROM articles_article").fetchone()[0] == 20
        assert db.execute("SELECT count(DISTINCT url_key) FROM articles_article").fetchone()[0] == 20
        for table in ("articles_article_authors", "articles_policymention", "articles_article_tags"):
            marks = ",".join("?" * len(originals))
            of_originals = db.execute(
                f"SELECT count(*) FROM {table} WHERE article_id IN ({marks})", originals
            ).fetchone()[0]
            total = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            assert total == 5 * of_originals, table  # the original and its four copies
            if table != "articles_article_tags":  # (tags are an editor's: none at ingest)
                assert of_originals > 0, table
        # a copy keeps the text and the stored terms, so the rebuild does not segment it again
        same = db.execute(
            "SELECT count(*) FROM articles_article c JOIN articles_article o"
            " ON o.id IN (SELECT id FROM articles_article ORDER BY id LIMIT 4)"
            " AND c.id > 4 AND c.body_text = o.body_text AND c.body_terms = o.body_terms"
            " AND c.body_terms_key = o.body_terms_key AND c.body_terms != ''"
        ).fetchone()[0]
        assert same == 16

    ix = whoosh_index.open_dir(str(var / "whoosh_index"))
    assert ix.doc_count() == 20
