"""The Celery app as the workers and beat load it: every scheduled job names a registered task."""

from __future__ import annotations

from portal.celery import app


def test_every_beat_entry_runs_a_task_the_workers_know():
    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule
    assert {"ingest-inbox", "ingest-sweep", "index-sweep"} <= set(schedule)
    for name, entry in schedule.items():
        assert entry["task"] in app.tasks, name


def test_the_inbox_job_runs_the_inbox_task():
    assert app.conf.beat_schedule["ingest-inbox"]["task"] == "articles.tasks.ingest_inbox"
