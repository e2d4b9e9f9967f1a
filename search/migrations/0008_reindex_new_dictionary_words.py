"""Queue for reindexing the articles that hold a word added to ``zhtext/dicts/policy_terms.txt``.

The file grew (网信部门, 谷歌, 安卓, 云计算 …: words jieba's own dictionary lacks). An index
written before splits them into single characters, and a query now keeps each one whole, so
until those articles are indexed again such a query would miss them. This marks them in the
index backlog, as an editor's dictionary change does; the index worker works them off. New
and empty databases have nothing to mark.
"""

from __future__ import annotations

import uuid

from django.db import migrations
from django.db.models import Q
from django.utils import timezone

ADDED_WORDS = (
    "网信",
    "网信部门",
    "微信",
    "谷歌",
    "安卓",
    "抖音",
    "暗网",
    "运维",
    "蓝屏",
    "云计算",
    "僵尸网络",
    "数据泄露",
    "黑产",
    "提权",
    "深度伪造",
)


def mark_articles(apps, schema_editor) -> None:
    Article = apps.get_model("articles", "Article")
    IndexChange = apps.get_model("search", "IndexChange")
    holding = Q()
    for word in ADDED_WORDS:
        holding |= Q(title__contains=word) | Q(body_text__contains=word)
    ids = list(Article.objects.filter(holding).values_list("pk", flat=True))
    now = timezone.now()
    for start in range(0, len(ids), 1000):
        IndexChange.objects.bulk_create(
            [IndexChange(article_id=pk, token=uuid.uuid4().hex, changed_at=now) for pk in ids[start : start + 1000]],
            update_conflicts=True,
            unique_fields=["article_id"],
            update_fields=["token", "changed_at"],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0007_models_moved_out"),
        ("articles", "0005_article_url_http_only"),
    ]

    operations = [migrations.RunPython(mark_articles, migrations.RunPython.noop)]
