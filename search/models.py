from __future__ import annotations

from django.db import models


class IndexChange(models.Model):
    """An article whose entry in the search index is out of date: the index's backlog.

    Written in the same transaction as the change itself (a save, a delete, a new tag), so the
    database always knows what the index still lacks; the index queue's messages only wake the
    worker that works the backlog off. Each mark carries a fresh ``token``: after indexing, a
    worker deletes the marks by the tokens it read, so a change made meanwhile (a new token)
    stays in the backlog and is indexed again. Deleted articles keep their mark until their
    document is removed, which is why ``article_id`` is not a foreign key.
    """

    article_id = models.BigIntegerField("文章 ID", unique=True)
    token = models.CharField("标记", max_length=32)
    changed_at = models.DateTimeField("变更时间", db_index=True)

    class Meta:
        verbose_name = "待更新索引"
        verbose_name_plural = "待更新索引"
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"文章 {self.article_id}"


from . import checks  # noqa: E402, F401  (registers the search system checks)
