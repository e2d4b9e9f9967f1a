"""scripts/load_test.py: it only ever loads this machine, and its arithmetic is right."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parents[2]
LOAD_TEST_SCRIPT = REPO_DIR / "scripts" / "load_test.py"

# Loaded as the script runs: its folder first on the path, for its sibling load_site.py.
sys.path.insert(0, str(LOAD_TEST_SCRIPT.parent))
spec = importlib.util.spec_from_file_location("load_test", LOAD_TEST_SCRIPT)
load_test = importlib.util.module_from_spec(spec)
sys.modules["load_test"] = load_test  # dataclasses look their module up while the script loads
spec.loader.exec_module(load_test)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5:8000",
        "http://192.168.1.10/",
        "http://example.org/",
        "http://127.0.0.2:8000",
        "http://0.0.0.0:8000",
        "https://127.0.0.1:8000",
        "http://[::2]:8000",
    ],
)
def test_it_refuses_every_target_but_loopback(url):
    with pytest.raises(load_test.TargetRefused):
        load_test.target_parse(url)


def test_it_exits_2_without_sending_anything_to_a_refused_target():
    result = subprocess.run(
        [sys.executable, str(LOAD_TEST_SCRIPT), "--url", "http://10.1.2.3:8000", "--duration", "1"],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "refusing" in result.stderr


@pytest.mark.parametrize(
    ("url", "host_header"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000"),
        ("http://[::1]:8001/", "[::1]:8001"),
        ("http://localhost:8002", "localhost:8002"),
    ],
)
def test_it_accepts_loopback_targets(url, host_header):
    target = load_test.target_parse(url)
    assert target.address in {"127.0.0.1", "::1"}
    assert target.host_header == host_header


def test_percentiles_use_the_nearest_rank():
    values = sorted(float(n) for n in range(1, 101))
    assert load_test.percentile(values, 50) == 50.0
    assert load_test.percentile(values, 95) == 95.0
    assert load_test.percentile(values, 99) == 99.0
    assert load_test.percentile([7.0], 99) == 7.0


def test_a_late_answer_counts_as_older_than_the_timeout():
    outcomes = [
        load_test.Outcome("home", 0.2, 200),
        load_test.Outcome("home", 10.5, 200),  # answered, but after the client gave up
        load_test.Outcome("home", 10.0, error="timeout"),
        load_test.Outcome("home", 0.01, 503, "status_5xx"),
    ]
    result = load_test.RunResult(rate=4, duration=1, timeout=10, outcomes=outcomes, started=4, max_lag=0.0)
    summary = result.summary()
    assert summary["older_than_timeout"] == 2
    assert summary["errors"]["timeout"] == 1
    assert summary["errors"]["status_5xx"] == 1
    assert summary["error_total"] == 2
    assert summary["ok"] == 2
