"""``rebuild_index`` on every core: forked processes write whole segments, the parent publishes
them in one commit and merges them by tiers. Run as real commands in processes of their own
(the forks need a database file they can all open), on a fresh SQLite database and index.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from articles.tests.processes import ROOT, manage

FILE = """---
title: 索引构建测试第{n}篇：{topic}
url: https://example.org/build/{n}
source: 构建测试来源{src}
date: 2023-1{month}-0{day}
---
{topic}工作第{n}次调度会召开，会议部署{topic}下一步重点任务，编号{n}号。

会议要求各单位把{topic}摆在突出位置，{extra}
"""
TOPICS = ["数据跨境流动", "关键信息基础设施保护", "生成式人工智能服务", "公共数据授权运营"]
EXTRA = ["完善配套制度。", "加强监督检查。", "开展试点示范。"]

# what each query finds, as ids: the same whichever way the index was built
PROBE = """
import json
from search.selectors import SearchParams, article_search
out = {}
for q in ["数据跨境流动", "关键信息基础设施", "试点示范", "编号7号", '"调度会召开"', "生成式 -公共"]:
    page = article_search(params=SearchParams(q=q))
    # ties in rank may fall either side of the first page in another segment layout
    out[q] = [page.count, sorted(hit.id for hit in page.results) if page.count <= 20 else None]
print(json.dumps(out, ensure_ascii=False))
"""


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PORTAL_VAR_DIR": str(tmp / "var"), "DJANGO_SETTINGS_MODULE": "portal.settings"}
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "SEARCH_BACKEND"):
        env.pop(name, None)
    return {**env, **extra}


def _probe(env: dict[str, str]) -> dict:
    result = manage("shell", "-c", PROBE, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _files(folder: Path, count: int) -> Path:
    folder.mkdir()
    for n in range(count):
        text = FILE.format(
            n=n, topic=TOPICS[n % 4], src=n % 5, month=n % 3, day=1 + n % 9, extra=EXTRA[n % 3]
        )
        (folder / f"{n:03d}.md").write_text(text, encoding="utf-8")
    return folder


def _segments(tmp: Path) -> int:
    return len(list((tmp / "var" / "whoosh_index").glob("MAIN_*.seg")))


def test_rebuild_on_two_processes_indexes_what_one_process_does(tmp_path):
    folder = _files(tmp_path / "files", 200)
    # small batches: several segments per process, and tiers that fill (see the merge lines)
    env = _env(tmp_path, SEARCH_BUILD_BATCH="10", INGEST_INLINE_JOBS="1")
    assert manage("migrate", "-v0", env=env).returncode == 0
    ingested = manage("ingest", str(folder), "--sync", "--no-progress", env=env, timeout=300)
    assert ingested.returncode == 0, ingested.stderr
    one = _probe(env)
    assert all(count for count, _ids in one.values()), one

    for jobs, expected_processes in (("2", 2), ("1", None)):
        rebuilt = manage("rebuild_index", "--noinput", env={**env, "SEARCH_BUILD_JOBS": jobs}, timeout=300)
        assert rebuilt.returncode == 0, rebuilt.stderr
        if expected_processes:
            assert f"已用 {expected_processes} 个进程建立索引：200 篇" in rebuilt.stdout
            # twenty batches of ten: the plan's two groups of eight merged while the others
            # were built, the four left too few to merge
            assert rebuilt.stderr.count("合并索引段：8 段 → 1 段（80 篇") == 2, rebuilt.stderr
            assert rebuilt.stderr.count("合并索引段") == 2, rebuilt.stderr
            assert _segments(tmp_path) == 6
        else:
            assert "个进程建立索引" not in rebuilt.stdout
        checked = manage("search_check", env=env)
        assert checked.returncode == 0 and "缺失 0，过期 0，多余 0" in checked.stdout, checked.stdout
        assert _probe(env) == one
        assert 1 <= _segments(tmp_path) <= 8


def _build_processes(pid: int) -> list[int]:
    """The build's forked processes: children of ``pid`` running the same command (not a
    short-lived helper such as ``uname`` that a library may start)."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    forks = []
    for child in (int(p) for p in found.stdout.split()):
        try:
            if b"rebuild_index" in Path(f"/proc/{child}/cmdline").read_bytes():
                forks.append(child)
        except OSError:
            continue  # gone already
    return forks


def test_a_build_process_killed_midway_publishes_nothing_and_says_what_to_do(tmp_path):
    folder = _files(tmp_path / "files", 400)
    env = _env(tmp_path, SEARCH_BUILD_JOBS="2", SEARCH_BUILD_BATCH="5", INGEST_INLINE_JOBS="2")
    assert manage("migrate", "-v0", env=env).returncode == 0
    assert manage("ingest", str(folder), "--sync", "--no-progress", env=env, timeout=300).returncode == 0

    build = subprocess.Popen(
        [sys.executable, "manage.py", "rebuild_index", "--noinput"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        # the build's pool: both its processes (a single fork may be a parallel merge's, gone
        # a moment later)
        while len(workers := _build_processes(build.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(workers) == 2, "the build never started its processes"
        time.sleep(0.3)
        os.kill(workers[0], signal.SIGKILL)  # a pool process lives until the build ends
        _out, err = build.communicate(timeout=120)
    finally:
        if build.poll() is None:
            build.kill()
    assert build.returncode != 0
    assert "建索引的进程意外退出" in err and "Traceback" not in err, err[-2000:]
    # nothing half-built was published: the index is the empty one rebuild_index started from
    checked = manage("search_check", env=env)
    assert "索引中 0 篇" in checked.stdout, checked.stdout
    rebuilt = manage("rebuild_index", "--noinput", env=env, timeout=300)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "缺失 0，过期 0，多余 0" in manage("search_check", env=env).stdout


def test_the_build_plan_merges_whole_groups_and_leaves_a_tail_too_short_to_merge():
    from search.engines.whoosh.build import batches_plan

    for total, batch in ((90, 10), (200, 10), (100_083, 2000), (20_108, 2000), (1_000_000, 2000), (5, 10)):
        pks = list(range(total))
        batches = batches_plan(pks, jobs=2, batch_size=batch)
        assert [pk for b in batches for pk in b] == pks  # every article once, in id order
        size = min(batch, -(-total // 2))
        full = 0
        while full < len(batches) and len(batches[full]) == size:
            full += 1
        full -= full % 8  # whole groups of eight batches of the same size
        tail = batches[full:]
        assert len(tail) < 8, (total, [len(b) for b in batches])
        if full:
            # the last group's merge has a tail of at least half a group to run beside
            assert sum(map(len, tail)) >= 4 * size, (total, [len(b) for b in tail])
        assert all(len(b) <= 2 * size for b in tail)


def test_groups_merge_only_as_the_plan_made_them(settings):
    from search.engines.whoosh.build import _Built, _group_ready

    settings.SEARCH_MERGE_FLOOR_DOCS = 1000

    class Segment:
        def __init__(self, docs: int) -> None:
            self.docs = docs

        def doc_count_all(self) -> int:
            return self.docs

        def deleted_count(self) -> int:
            return 0

    # batches 1..8 written, batch 0 still building: not a group of the plan
    built = {n: _Built(end=n + 1, segment=Segment(2000)) for n in range(1, 9)}
    assert _group_ready(built) is None
    built[0] = _Built(end=1, segment=Segment(2000))
    assert _group_ready(built) == list(range(8))
    for n in range(8):
        built[n].merging = True
    assert _group_ready(built) is None  # 8 is the start of the next group, which is not whole
    # merged groups of the plan merge again, eight at a time
    merged = {n * 8: _Built(end=n * 8 + 8, segment=Segment(16_000)) for n in range(8)}
    assert _group_ready(merged) == [n * 8 for n in range(8)]
