"""Writing the same fields of many saved rows at once.

Django's ``bulk_update`` builds, per field, a ``CASE`` with one ``WHEN`` per row out of
expression objects, and resolving those was most of its cost: at 2,285 files, the story and
policy record updates of one ingest took 0.8 s of a worker's time in it, for a few thousand
rows. On PostgreSQL the rows go instead as one ``VALUES`` list, each value cast to its
column's type, joined to the table by primary key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import Model

BATCH = 500


def rows_update(*, rows: Sequence[Model], fields: Sequence[str]) -> None:
    """Write ``fields`` of ``rows`` (saved instances of one model) as they are in memory, like
    ``bulk_update``: no ``save()``, no signals, ``auto_now`` fields left alone."""
    if not rows or not fields:
        return
    model = type(rows[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(rows, list(fields), batch_size=BATCH)
        return
    meta = model._meta
    pk = meta.pk
    written = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    columns = [quote(pk.column), *(quote(field.column) for field in written)]
    casts = [f"%s::{pk.db_type(connection)}", *(f"%s::{field.db_type(connection)}" for field in written)]
    row_marks = f"({', '.join(casts)})"
    assignments = ", ".join(f"{column} = v.{column}" for column in columns[1:])
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        params: list[object] = []
        for row in chunk:
            params.append(pk.get_db_prep_save(row.pk, connection))
            params.extend(
                field.get_db_prep_save(getattr(row, field.attname), connection) for field in written
            )
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(meta.db_table)} AS t SET {assignments}"
                f" FROM (VALUES {', '.join([row_marks] * len(chunk))}) AS v({', '.join(columns)})"
                f" WHERE t.{columns[0]} = v.{columns[0]}",
                params,
            )


def rows_update_changed(*, changed: Iterable[tuple[Model, Iterable[str]]]) -> None:
    """Write each row's own changed fields: one ``rows_update`` per set of fields, so rows
    that changed the same fields share a statement."""
    by_fields: dict[tuple[str, ...], list[Model]] = {}
    for row, fields in changed:
        if fields:
            by_fields.setdefault(tuple(sorted(fields)), []).append(row)
    for fields, rows in by_fields.items():
        rows_update(rows=rows, fields=fields)
