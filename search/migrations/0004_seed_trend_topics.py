from __future__ import annotations

from django.db import migrations

# (name, query): the topics the home page charts until editors change them.
SEED_TOPICS = [
    ("数据要素", "数据要素"),
    ("个人信息保护", "个人信息保护"),
    ("勒索软件", "勒索软件"),
    ("人工智能安全", "人工智能安全"),
    ("关键信息基础设施", "关键信息基础设施"),
]


def seed_topics(apps, schema_editor):
    TrendTopic = apps.get_model("search", "TrendTopic")
    for position, (name, query) in enumerate(SEED_TOPICS, start=1):
        TrendTopic.objects.get_or_create(name=name, defaults={"query": query, "position": position})


def unseed_topics(apps, schema_editor):
    apps.get_model("search", "TrendTopic").objects.filter(name__in=[n for n, _ in SEED_TOPICS]).delete()


class Migration(migrations.Migration):
    dependencies = [("search", "0003_trendtopic")]

    operations = [migrations.RunPython(seed_topics, unseed_topics)]
