"""`ingest --sync` on every core: forks share the items, and a fork that dies loses nothing.

Run as a real command in a process of its own (the forks need a database file they can all
open), on a fresh SQLite database and index in a temporary folder.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .processes import ROOT, manage

FILE = """---
title: 并行导入测试第{n}篇：{topic}
url: https://example.org/forked/{n}
source: 并行测试来源{src}
date: 2024-0{month}-1{day}
---
{topic}相关工作第{n}次推进会召开。会议听取了{topic}进展汇报，研究部署下一阶段任务。

与会人员表示，要把{topic}作为重点，完善制度，压实责任，确保各项措施落地见效。编号{n}。
"""
TOPICS = ["数据要素市场建设", "网络安全等级保护", "个人信息保护合规", "算力基础设施布局", "人工智能安全治理"]


def _env(tmp: Path) -> dict[str, str]:
    env = {**os.environ, "PORTAL_VAR_DIR": str(tmp / "var"), "DJANGO_SETTINGS_MODULE": "portal.settings"}
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "SEARCH_BACKEND"):
        env.pop(name, None)
    return env


def _files(folder: Path, count: int) -> Path:
    folder.mkdir()
    for n in range(count):
        text = FILE.format(n=n, topic=TOPICS[n % 5], src=n % 7, month=1 + n % 9, day=n % 10)
        (folder / f"{n:04d}.md").write_text(text, encoding="utf-8")
    return folder


def _articles(tmp: Path) -> list[str]:
    with sqlite3.connect(tmp / "var" / "portal.sqlite3") as conn:
        return [row[0] for row in conn.execute("SELECT url FROM articles_article")]


def _index_complete(env: dict[str, str]) -> str:
    checked = manage("search_check", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    return checked.stdout


@pytest.fixture
def fresh(tmp_path: Path) -> dict[str, str]:
    env = _env(tmp_path)
    migrated = manage("migrate", "-v0", env=env)
    assert migrated.returncode == 0, migrated.stderr
    return env


def test_two_processes_ingest_every_file_once_and_the_index_holds_them_all(fresh, tmp_path):
    folder = _files(tmp_path / "in", 60)
    result = manage("ingest", str(folder), "--sync", "--jobs", "2", "--no-progress", env=fresh)
    assert result.returncode == 0, result.stderr
    assert "新建 60，更新 0，未变化 0，失败 0" in result.stdout
    urls = _articles(tmp_path)
    assert sorted(urls) == sorted(f"https://example.org/forked/{n}" for n in range(60))
    assert "缺失 0，过期 0，多余 0" in _index_complete(fresh)
    # Again: every file is found unchanged, whichever process takes it.
    again = manage("ingest", str(folder), "--sync", "--jobs", "2", "--no-progress", env=fresh)
    assert "新建 0，更新 0，未变化 60，失败 0" in again.stdout


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_a_fork_killed_mid_run_loses_nothing(fresh, tmp_path, corpus_dir):
    """SIGKILL one of the forks while it works: the command still ends with every file stored
    once and indexed (its claim is released and the parent takes what it left)."""
    files = sorted(corpus_dir.glob("*.md"))
    command = [
        sys.executable,
        "manage.py",
        "ingest",
        str(corpus_dir),
        "--sync",
        "--jobs",
        "2",
        "--no-progress",
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=fresh, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and process.poll() is None:
        children = _children(process.pid)
        stored = len(_articles(tmp_path)) if children else 0
        if children and stored >= 20:
            killed = children[0]
            os.kill(killed, signal.SIGKILL)
            break
        time.sleep(0.1)
    assert killed is not None, "the fork was never seen working"
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode in (0, 1), stderr  # 1: a real file in the corpus may fail to parse
    created = re.search(r"新建 (\d+)，更新 (\d+)，未变化 (\d+)，失败 (\d+)", stdout)
    assert created, stdout + stderr
    new, updated, unchanged, failed = map(int, created.groups())
    assert new + updated + unchanged + failed == len(files)
    assert len(_articles(tmp_path)) == new  # nothing lost, nothing twice (an update is of one created)
    assert "缺失 0，过期 0，多余 0" in _index_complete(fresh)
