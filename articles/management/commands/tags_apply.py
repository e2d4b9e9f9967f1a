from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from articles.services import tags_apply_by_title


class Command(BaseCommand):
    help = "按标题中的词给文章加标签（JSON 文件：{标签: [标题中的词, …]}）。可重复运行，只增不删。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options) -> None:
        try:
            rules = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"读不了标签文件 {file}：{exc}") from exc
        if not isinstance(rules, dict) or not all(
            isinstance(words, list) and all(isinstance(w, str) for w in words) for words in rules.values()
        ):
            raise CommandError('标签文件的格式应为 {"标签": ["标题中的词", …]}')
        added = tags_apply_by_title(rules=rules)
        self.stdout.write(f"已加标签：{'、'.join(f'{tag} {n} 篇' for tag, n in added.items()) or '无'}")
