from __future__ import annotations

from django.db import models


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
        db_table = "search_trendtopic"  # created as search_*, the app the models started in
        verbose_name = "趋势话题"
        verbose_name_plural = "趋势话题"
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name
