from __future__ import annotations

from django.db import models
from django.db.models import F


class DictionaryTerm(models.Model):
    """A word jieba must keep whole, added by editors on top of ``dicts/policy_terms.txt``."""

    word = models.CharField("词语", max_length=60, unique=True)
    freq = models.PositiveIntegerField(
        "词频", null=True, blank=True, help_text="留空时自动取一个足以让该词成词的词频。"
    )
    note = models.CharField("备注", max_length=200, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "分词词条"
        verbose_name_plural = "分词词条"
        ordering = ["word"]

    def __str__(self) -> str:
        return self.word


class Synonym(models.Model):
    """One group of words that mean the same thing; a query for any of them finds all."""

    terms = models.TextField("同义词组", help_text="用逗号或顿号分隔，例如：工信部, 工业和信息化部")
    active = models.BooleanField("启用", default=True)
    note = models.CharField("备注", max_length=200, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "同义词组"
        verbose_name_plural = "同义词组"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.terms


class DictionaryState(models.Model):
    """Single row: the version of the admin dictionary and synonyms every process compares to."""

    version = models.PositiveIntegerField("版本", default=1)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "词典版本"
        verbose_name_plural = "词典版本"

    def __str__(self) -> str:
        return f"词典版本 {self.version}"

    @classmethod
    def current_version(cls) -> int:
        version = cls.objects.filter(pk=1).values_list("version", flat=True).first()
        return version or 0

    @classmethod
    def bump(cls) -> None:
        updated = cls.objects.filter(pk=1).update(version=F("version") + 1)
        if not updated:
            cls.objects.get_or_create(pk=1, defaults={"version": 2})


class TrendTopic(models.Model):
    """A topic editors follow; the home page charts how many articles match it each month."""

    name = models.CharField("名称", max_length=60)
    query = models.CharField(
        "检索式", max_length=200, help_text="与检索页的写法相同，例如：勒索软件 OR 勒索病毒"
    )
    position = models.PositiveSmallIntegerField("排序", default=0, help_text="数字小的排在前面。")
    active = models.BooleanField("显示", default=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "趋势话题"
        verbose_name_plural = "趋势话题"
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


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
