from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Count
from django.urls import reverse

from .untrusted import url_http_validate


class Source(models.Model):
    """The publishing WeChat account or news site, as named in the front matter."""

    name = models.CharField("名称", max_length=200, unique=True)
    site = models.CharField("站点域名", max_length=200, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "来源"
        verbose_name_plural = "来源"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Author(models.Model):
    name = models.CharField("姓名", max_length=100, unique=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "作者"
        verbose_name_plural = "作者"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    """Curated by editors; never set by ingest."""

    name = models.CharField("名称", max_length=50, unique=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "标签"
        verbose_name_plural = "标签"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Story(models.Model):
    """One story republished by several accounts: a cluster of near-duplicate articles."""

    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "转载组"
        verbose_name_plural = "转载组"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"转载组 #{self.pk}"


class Article(models.Model):
    class Status(models.TextChoices):
        PUBLISHED = "published", "已发布"
        HIDDEN = "hidden", "已隐藏"

    title = models.CharField("标题", max_length=500)
    url = models.TextField("原文链接", blank=True, validators=[url_http_validate])
    canonical_url = models.TextField("规范链接", blank=True)
    # sha256 of the canonical URL: the identity of an article across crawls.
    url_key = models.CharField("链接键", max_length=64, unique=True)
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="articles", verbose_name="来源")
    authors = models.ManyToManyField(Author, blank=True, related_name="articles", verbose_name="作者")
    tags = models.ManyToManyField(Tag, blank=True, related_name="articles", verbose_name="标签")
    published_on = models.DateField("发布日期", null=True, blank=True)
    fetched_at = models.DateTimeField("抓取时间", null=True, blank=True)
    raw_text = models.TextField("原始文件")
    body_markdown = models.TextField("正文（Markdown）", blank=True)
    body_text = models.TextField("正文（纯文本）", blank=True)
    summary = models.TextField("摘要", blank=True)
    cover_image = models.TextField("封面图", blank=True, validators=[url_http_validate])
    attribution = models.CharField("原始出处", max_length=300, blank=True)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PUBLISHED)
    featured = models.BooleanField("精选", default=False)
    content_hash = models.CharField("内容指纹", max_length=64)
    story = models.ForeignKey(
        Story,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="articles",
        verbose_name="转载组",
    )
    # Set when an editor merged or split the article's story by hand: automatic repost
    # detection then leaves its membership alone.
    story_locked = models.BooleanField("转载组已人工确认", default=False)
    # MinHash signature of the body's jieba tokens (uint32 values, little-endian), for repost detection.
    minhash = models.BinaryField("MinHash 签名", blank=True, default=b"")
    # The body's index terms, segmented once at ingest (the same pass as the keywords and the
    # fingerprint) and kept so the index worker and rebuild_index need not segment it again;
    # used only while ``body_terms_key`` matches the body and the dictionary (zhtext.terms_key).
    body_terms = models.TextField("正文分词", blank=True, default="", editable=False)
    body_terms_key = models.CharField("分词版本", max_length=80, blank=True, default="", editable=False)
    # Keywords extracted with jieba at ingest, best first: [[word, weight], ...].
    keywords = models.JSONField("关键词", default=list, blank=True)
    created_at = models.DateTimeField("入库时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "文章"
        verbose_name_plural = "文章"
        ordering = ["-published_on", "-id"]
        indexes = [
            models.Index(fields=["status", "-published_on"], name="article_status_date"),
            models.Index(fields=["source", "-published_on"], name="article_source_date"),
            models.Index(fields=["-published_on"], name="article_date"),
            models.Index(fields=["featured", "status"], name="article_featured"),
            # Covers a results page's "also published by" lists (every column they read), so
            # SQLite does not read the rows: reaching a column stored after the big text
            # columns walks their overflow pages (~0.2 ms a row; a page lists hundreds).
            models.Index(
                fields=["story", "status", "published_on", "id", "title", "source"],
                name="article_story_members",
                condition=models.Q(story__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("article-detail", args=[self.pk])

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class ArticleBand(models.Model):
    """One LSH band of an article's MinHash: articles sharing a band are repost candidates."""

    # Two indexes, not the five Django would make: the unique (article, band) serves the
    # lookups by article, and a band is only ever compared whole (no ``_like`` index).
    # Every article writes ~32 rows, so each index was a tenth of an ingest's inserts.
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="bands", db_index=False)
    band = models.CharField(max_length=40)

    class Meta:
        verbose_name = "MinHash 分段"
        verbose_name_plural = "MinHash 分段"
        constraints = [models.UniqueConstraint(fields=["article", "band"], name="articleband_unique")]
        indexes = [models.Index(fields=["band"], name="articleband_band")]

    def __str__(self) -> str:
        return self.band


class PolicyDocument(models.Model):
    """One policy document, whatever it is called by: its title, short title, 文号 and the
    nicknames people type (``PolicyName`` holds every name it answers to).

    The fields below ``aliases`` are what the document's own official text says (read at
    ingest and by ``policy_rebuild``); a field an editor sets is listed in ``editor_fields``
    and is never recomputed."""

    class Kind(models.TextChoices):
        TITLE = "title", "文件名称"
        NUMBER = "number", "文号"

    class Category(models.TextChoices):
        LAW = "法律", "法律"
        REGULATION = "行政法规", "行政法规"
        RULE = "部门规章", "部门规章"
        NORMATIVE = "规范性文件", "规范性文件"
        PARTY = "党内法规", "党内法规"
        LOCAL_REGULATION = "地方性法规", "地方性法规"
        LOCAL_RULE = "地方政府规章", "地方政府规章"
        STANDARD = "标准", "标准"
        NOTICE = "通知", "通知"

    class Status(models.TextChoices):
        IN_FORCE = "现行有效", "现行有效"
        NOT_YET = "尚未施行", "尚未施行"
        AMENDED = "已修订", "已修订"
        REPEALED = "已废止", "已废止"
        EXPIRED = "已失效", "已失效"

    name = models.CharField("名称或文号", max_length=200, unique=True)
    kind = models.CharField("命名方式", max_length=16, choices=Kind.choices)
    # Other spellings found in articles, merged in or typed by editors; matched like the name.
    aliases = models.JSONField("别名", default=list, blank=True)
    articles = models.ManyToManyField(
        Article, through="PolicyMention", related_name="policy_documents", verbose_name="提及文章"
    )
    title = models.CharField("正式标题", max_length=300, blank=True)
    doc_number = models.CharField("发文字号", max_length=100, blank=True, db_index=True)
    issuers = models.JSONField("发文机关", default=list, blank=True)
    category = models.CharField("文件类型", max_length=16, choices=Category.choices, blank=True)
    signed_on = models.DateField("成文日期", null=True, blank=True)
    published_on = models.DateField("发布日期", null=True, blank=True)
    effective_on = models.DateField("施行日期", null=True, blank=True)
    expires_on = models.DateField("有效期至", null=True, blank=True)
    # What a text or an editor said (废止, 修订, 现行有效…); empty: read from the dates (``status_shown``).
    status = models.CharField("时效性", max_length=8, choices=Status.choices, blank=True)
    topic = models.CharField("主题分类", max_length=40, blank=True)
    official_article = models.ForeignKey(
        Article,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="policy_records_official",
        verbose_name="原文",
    )
    # Documents this one's official text names in 《》 (derived, rebuilt with the text).
    cites = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="cited_by", verbose_name="引用文件"
    )
    editor_fields = models.JSONField("编辑确定的字段", default=list, blank=True, editable=False)
    # Names an editor split off into records of their own: automatic linking never joins
    # this document with a record answering to one of them again.
    kept_apart = models.JSONField("不与之合并的名称", default=list, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "政策文件"
        verbose_name_plural = "政策文件"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("policy-detail", args=[self.pk])

    def status_shown(self, *, today: datetime.date | None = None) -> str:
        """The stated status, else what the dates say (有效期至 passed: 已失效; 施行日期 to
        come: 尚未施行; passed: 现行有效); "" when nothing says anything."""
        if self.status:
            return self.status
        today = today or datetime.date.today()
        if self.expires_on is not None and self.expires_on < today:
            return self.Status.EXPIRED
        if self.effective_on is None:
            return ""
        return self.Status.NOT_YET if self.effective_on > today else self.Status.IN_FORCE


class PolicyName(models.Model):
    """Every name a policy document answers to (its name, title, 文号, aliases and their short
    forms), normalised like an extracted mention: the lookup of mentions and of queries."""

    name = models.CharField("名称", max_length=200, unique=True)
    document = models.ForeignKey(PolicyDocument, on_delete=models.CASCADE, related_name="names")

    class Meta:
        verbose_name = "政策文件名称"
        verbose_name_plural = "政策文件名称"

    def __str__(self) -> str:
        return self.name


class PolicyMention(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="policy_mentions")
    document = models.ForeignKey(PolicyDocument, on_delete=models.CASCADE, related_name="mentions")
    raw = models.CharField("原文写法", max_length=200, blank=True)

    class Meta:
        verbose_name = "文件提及"
        verbose_name_plural = "文件提及"
        constraints = [
            models.UniqueConstraint(fields=["article", "document"], name="policymention_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.article_id} → {self.document}"


class IngestRun(models.Model):
    class Trigger(models.TextChoices):
        COMMAND = "command", "命令行"
        UPLOAD = "upload", "后台上传"
        INBOX = "inbox", "收件箱"
        RECLEAN = "reclean", "重新清洗"

    trigger = models.CharField("触发方式", max_length=16, choices=Trigger.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name="发起人"
    )
    paths = models.JSONField("路径", default=list, blank=True)
    created_at = models.DateTimeField("开始时间", auto_now_add=True)

    class Meta:
        verbose_name = "导入批次"
        verbose_name_plural = "导入批次"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"导入批次 #{self.pk}"

    def outcome_counts(self) -> dict[str, int]:
        """Counts per outcome, derived from the items so they can never disagree."""
        counts = {choice: 0 for choice in IngestItem.Outcome.values}
        for row in self.items.values("outcome").annotate(n=Count("id")):
            counts[row["outcome"]] = row["n"]
        # An unpacked archive is not a file of its own: its members are counted instead.
        counts["total"] = (
            sum(counts[c] for c in IngestItem.Outcome.values) - counts[IngestItem.Outcome.EXPANDED]
        )
        counts["done"] = counts["total"] - counts[IngestItem.Outcome.PENDING]
        return counts

    @property
    def is_finished(self) -> bool:
        return not self.items.filter(outcome=IngestItem.Outcome.PENDING).exists()


class IngestItem(models.Model):
    """One unit of ingest work: a file (or an archive of files) and what became of it.

    The row is the record of the work: ``outcome`` says whether anything remains to be done,
    and a worker that takes the item claims it with a conditional update (``claim_token``
    and a lease in ``claimed_until``). Broker messages only wake workers; the sweep re-queues
    pending items whose message may be lost and items whose claim expired.
    """

    class Kind(models.TextChoices):
        FILE = "file", "文章文件"
        ARCHIVE = "archive", "压缩包"

    class Outcome(models.TextChoices):
        PENDING = "pending", "等待处理"
        CREATED = "created", "新建"
        UPDATED = "updated", "更新"
        UNCHANGED = "unchanged", "未变化"
        FAILED = "failed", "失败"
        # An archive whose files became items of their own.
        EXPANDED = "expanded", "已解包"

    run = models.ForeignKey(IngestRun, on_delete=models.CASCADE, related_name="items", verbose_name="批次")
    kind = models.CharField("类型", max_length=16, choices=Kind.choices, default=Kind.FILE)
    # The archive a file came out of, when a worker unpacked it.
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="members",
        verbose_name="所属压缩包",
    )
    path = models.TextField("文件路径")
    # The file's bytes as received, so a worker on another machine can process it and a
    # failed file can be fixed and reprocessed. Empty only for files over the size limit.
    raw = models.BinaryField("原始字节", blank=True, default=b"")
    size = models.PositiveBigIntegerField("字节数", default=0)
    outcome = models.CharField(
        "结果", max_length=16, choices=Outcome.choices, default=Outcome.PENDING, db_index=True
    )
    reason = models.TextField("原因", blank=True)
    article = models.ForeignKey(
        Article,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ingest_items",
        verbose_name="文章",
    )
    attempts = models.PositiveSmallIntegerField("尝试次数", default=0)
    # When a wake-up message was last handed to the broker; empty when none could be sent.
    queued_at = models.DateTimeField("入队时间", null=True, blank=True)
    # The claim: who works on the item (a delivery of a task message, or an inline run) and
    # until when. A redelivery of the same message may take the claim over: the broker hands
    # a message out again only once the process that had it is gone.
    claim_token = models.CharField("领取标记", max_length=64, blank=True, default="")
    claimed_by = models.CharField("处理进程", max_length=200, blank=True, default="")
    claimed_until = models.DateTimeField("领取到期", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = "导入文件"
        verbose_name_plural = "导入文件"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["run", "outcome"], name="ingestitem_run_outcome"),
            # The sweep's and pipeline_status's question: what is pending, since when.
            models.Index(
                fields=["created_at"],
                name="ingestitem_pending",
                condition=models.Q(outcome="pending"),
            ),
        ]

    def __str__(self) -> str:
        return self.path
