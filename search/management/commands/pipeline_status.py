"""What the background pipeline still has to do, read from the database (the record of work)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandParser

from articles import pipeline
from articles.pipeline import age_describe
from search.backlog import INDEX_QUEUE, index_backlog_status


def pipeline_status() -> dict[str, object]:
    status: dict[str, object] = {
        "ingest": pipeline.ingest_pipeline_status(),
        "index": index_backlog_status(),
        "inline": pipeline.tasks_inline(),
    }
    if not status["inline"]:
        status["queues"] = {
            name: pipeline.queue_length(queue=name) for name in (pipeline.INGEST_QUEUE, INDEX_QUEUE)
        }
    return status


class Command(BaseCommand):
    help = (
        "显示后台处理的进度：待处理、处理中、领取过期、失败的导入文件数，"
        "最早一项的等待时间，以及待更新的索引。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="以 JSON 输出")

    def handle(self, *args, **options) -> None:
        status = pipeline_status()
        if options["json"]:
            self.stdout.write(json.dumps(status, ensure_ascii=False))
            return
        ingest = status["ingest"]
        index = status["index"]
        self.stdout.write(
            f"导入：待处理 {ingest['pending']}（等待 {ingest['waiting']}，处理中 {ingest['claimed']}，"
            f"领取已过期 {ingest['expired']}，未能入队 {ingest['never_queued']}），"
            f"最早一项已等待 {age_describe(ingest['oldest_pending_seconds'])}；失败 {ingest['failed']}"
        )
        self.stdout.write(
            f"索引：待更新 {index['backlog']} 篇，最早一项已等待 {age_describe(index['oldest_seconds'])}"
        )
        if status["inline"]:
            self.stdout.write("消息队列：未配置（CELERY_BROKER_URL 为空），任务在发起的进程内直接执行")
            return
        queues = status["queues"]
        if any(length is None for length in queues.values()):
            self.stdout.write(
                self.style.WARNING("消息队列：无法连接；已记录的工作会在恢复后由清扫任务重新入队")
            )
        else:
            self.stdout.write(
                "消息队列：" + "，".join(f"{name} 队列 {length} 条" for name, length in queues.items())
            )
