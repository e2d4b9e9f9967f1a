"""Synonym groups added after the first seed: vendor names and security terms in both languages.

The groups are written out here (not read from ``dicts/synonyms.txt``) so this migration
does the same thing whenever it runs; a group already present (seeded by 0002 from a newer
file, or typed in by an editor) is left alone.
"""

from __future__ import annotations

from django.db import migrations
from django.db.models import F

GROUPS = [
    "谷歌浏览器, Chrome, Google Chrome",
    "安卓, Android",
    "苹果, Apple, 苹果公司",
    "微软, Microsoft",
    "谷歌, Google",
    "亚马逊, Amazon",
    "英伟达, NVIDIA",
    "英特尔, Intel",
    "思科, Cisco",
    "甲骨文, Oracle",
    "漏洞利用, exploit",
    "概念验证, PoC",
    "零日, zero-day, 0-day, 0day",
    "网络钓鱼, 钓鱼攻击, phishing",
    "恶意软件, malware",
    "勒索软件, ransomware",
    "僵尸网络, botnet",
    "间谍软件, spyware",
    "远程代码执行, RCE",
    "分布式拒绝服务, DDoS",
    "高级持续性威胁, APT",
    "跨站脚本, XSS",
    "SQL注入, SQL injection",
    "供应链攻击, supply chain attack",
    "多因素认证, 多因子认证, MFA",
    "数据泄露, 数据泄漏",
    "权限提升, 提权, privilege escalation",
    "物联网, IoT",
    "大语言模型, 大模型, LLM",
]
NOTE = "补充词表"


def seed_more(apps, schema_editor):
    Synonym = apps.get_model("search", "Synonym")
    DictionaryState = apps.get_model("search", "DictionaryState")
    added = 0
    for terms in GROUPS:
        if not Synonym.objects.filter(terms=terms).exists():
            Synonym.objects.create(terms=terms, note=NOTE)
            added += 1
    if added:
        # Running processes reload synonyms when the version moves.
        if not DictionaryState.objects.filter(pk=1).update(version=F("version") + 1):
            DictionaryState.objects.create(pk=1, version=2)


def unseed_more(apps, schema_editor):
    apps.get_model("search", "Synonym").objects.filter(note=NOTE, terms__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [("search", "0004_seed_trend_topics")]

    operations = [migrations.RunPython(seed_more, unseed_more)]
