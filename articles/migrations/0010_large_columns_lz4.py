"""PostgreSQL: the large text columns compressed with LZ4 instead of pglz.

Every ingested article writes its raw file, its Markdown, its plain text and its segmented
text, and the ingest item keeps the file's bytes: each is compressed into TOAST on insert.
pglz took about three times the database's CPU of LZ4 for the same values, and an ingest
worker waits for that insert. Only values written from now on are compressed the new way
(PostgreSQL reads both); nothing is rewritten, so the migration is instant on any archive.

Skipped on other databases and on a PostgreSQL built without LZ4 (before 14, or without
``--with-lz4``), where pglz stays.
"""

from django.db import migrations

COLUMNS = [
    ("articles_article", "raw_text"),
    ("articles_article", "body_markdown"),
    ("articles_article", "body_text"),
    ("articles_article", "body_terms"),
    ("articles_ingestitem", "raw"),
]


def _lz4_available(connection) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
        )
        return cursor.fetchone() is not None


def _compression_set(schema_editor, method: str) -> None:
    connection = schema_editor.connection
    if not _lz4_available(connection):
        return
    quote = schema_editor.quote_name
    for table, column in COLUMNS:
        schema_editor.execute(f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(column)} SET COMPRESSION {method}")


def forwards(apps, schema_editor):
    _compression_set(schema_editor, "lz4")


def backwards(apps, schema_editor):
    _compression_set(schema_editor, "pglz")


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0009_articleband_two_indexes"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
