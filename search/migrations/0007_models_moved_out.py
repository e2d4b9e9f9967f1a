"""The dictionary models moved to ``zhtext`` and the trend topics to ``pages``.

State only: the tables keep their ``search_*`` names (``db_table`` on the moved models), so
no row is copied and nothing is locked. ``zhtext.0001`` and ``pages.0001`` take them over.
"""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("search", "0006_indexchange")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="DictionaryTerm"),
                migrations.DeleteModel(name="Synonym"),
                migrations.DeleteModel(name="DictionaryState"),
                migrations.DeleteModel(name="TrendTopic"),
            ]
        )
    ]
