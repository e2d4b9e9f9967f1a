"""The editors' additions to the text analysis: words jieba keeps whole, synonym groups, and the
version every process compares its loaded dictionary to."""

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
        db_table = "search_dictionaryterm"  # created as search_*, the app the models started in
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
        db_table = "search_synonym"  # created as search_*, the app the models started in
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
        db_table = "search_dictionarystate"  # created as search_*, the app the models started in
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
