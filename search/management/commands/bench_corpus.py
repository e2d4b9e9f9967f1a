"""Write a synthetic corpus of article files for ingest and load benchmarks.

The documents are recombined from a real corpus's titles, paragraphs, sources and dates
(``search.bench.corpus``), in the crawler's input format, each with its own URL so that every
file becomes its own article.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import yaml
from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from search.bench.corpus import corpus_pool_load, synthetic_doc_make


class Command(BaseCommand):
    help = "用真实语料的段落重新组合，写出 N 篇合成文章文件（用于导入和压力测试）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("corpus", type=Path, help="真实语料目录（.md 文件）")
        parser.add_argument("out", type=Path, help="输出目录")
        parser.add_argument("--count", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, corpus: Path, out: Path, count: int, seed: int, **options) -> None:
        pool = corpus_pool_load(corpus_dir=corpus)
        out.mkdir(parents=True, exist_ok=True)
        fetched = datetime.datetime(2025, 10, 6, 10, 0, tzinfo=datetime.UTC)
        for pk in tqdm(range(1, count + 1), desc="写出文章", unit="篇", file=self.stderr._out):
            doc = synthetic_doc_make(pool=pool, pk=pk, seed=seed)
            front = {
                "title": f"{doc.title}（{pk}）",
                "url": f"https://bench.example.cn/articles/{seed}/{pk}",
                "source": doc.source,
                "date": doc.published.isoformat(),
                "fetch_date": fetched.isoformat(),
            }
            header = yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
            (out / f"{pk:06d}.md").write_text(f"---\n{header}---\n\n{doc.body}\n", encoding="utf-8")
        self.stdout.write(f"已写出 {count} 篇到 {out}")
