"""scripts/bench_ingest.py: the copies it makes are new articles, and the copied text is kept."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import yaml

REPO_DIR = Path(__file__).resolve().parents[2]
SCRIPT = REPO_DIR / "scripts" / "bench_ingest.py"

spec = importlib.util.spec_from_file_location("bench_ingest", SCRIPT)
bench_ingest = importlib.util.module_from_spec(spec)
sys.modules["bench_ingest"] = bench_ingest
spec.loader.exec_module(bench_ingest)

WITH_URL = (
    "---\ntitle: 甲\nurl: https://example.org/a\nsource: 测试\n---\n正文第一段。\n\nurl: 正文里的这一行不动\n"
)
WITHOUT_URL = '---\ntitle: "乙"\nurl: ""\nsource: 部委\ndoc_number: "某发〔2024〕1号"\n---\n通知正文。\n'
NO_URL_KEY = "---\ntitle: 丙\nsource: 部委\n---\n通知正文。\n"


def _front(text: str) -> dict:
    return yaml.safe_load(text.split("---")[1])


def test_a_copy_gets_the_new_url_in_its_front_matter_and_keeps_its_body():
    for original in (WITH_URL, WITHOUT_URL, NO_URL_KEY):
        copied = bench_ingest.copy_with_url(original, url="https://bench.invalid/copy-1/x")
        assert _front(copied)["url"] == "https://bench.invalid/copy-1/x"
        assert {k: v for k, v in _front(copied).items() if k != "url"} == {
            k: v for k, v in _front(original).items() if k != "url"
        }
        assert copied.split("---", 2)[2] == original.split("---", 2)[2]


def test_the_corpus_is_copied_until_there_are_enough_files_each_under_its_own_url(tmp_path: Path):
    source = tmp_path / "src"
    source.mkdir()
    for n, text in enumerate((WITH_URL, WITHOUT_URL, NO_URL_KEY)):
        (source / f"{n}.md").write_text(text, encoding="utf-8")
    written = bench_ingest.corpus_build(folders=[source], files=7, into=tmp_path / "out")
    files = sorted((tmp_path / "out").rglob("*.md"))
    assert written == len(files) == 9  # three rounds of three
    urls = [_front(p.read_text(encoding="utf-8")).get("url") for p in files]
    copies = [u for u in urls if u and u.startswith("https://bench.invalid/")]
    assert len(copies) == 6 and len(set(copies)) == 6
