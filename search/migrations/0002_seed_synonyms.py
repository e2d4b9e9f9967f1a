from __future__ import annotations

from pathlib import Path

from django.db import migrations

SEED_FILE = Path(__file__).resolve().parent.parent.parent / "zhtext" / "dicts" / "synonyms.txt"


def seed_synonyms(apps, schema_editor):
    Synonym = apps.get_model("search", "Synonym")
    DictionaryState = apps.get_model("search", "DictionaryState")
    DictionaryState.objects.get_or_create(pk=1, defaults={"version": 1})
    if not SEED_FILE.is_file():
        return
    for raw in SEED_FILE.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not Synonym.objects.filter(terms=line).exists():
            Synonym.objects.create(terms=line, note="初始词表")


def unseed_synonyms(apps, schema_editor):
    apps.get_model("search", "Synonym").objects.filter(note="初始词表").delete()


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [migrations.RunPython(seed_synonyms, unseed_synonyms)]
