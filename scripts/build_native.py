"""Compile the portal's C accelerators in place (``make native``, part of ``make venv``).

Three modules: ``zhtext/_cut.c``, jieba's HMM-free dynamic programme;
``zhtext/_shingles.c``, the SHA-1 prefixes of a repost fingerprint's shingles; and
``search/engines/whoosh/_postings.c``, a document's postings and a new segment's terms for
the index writer. Without them the portal runs on the pure-Python versions of the same code
(``manage.py check`` says so); with them, segmentation costs several times less, adding a
document to the index about a third less and a commit about half. Needs a C compiler and
Python's headers (Debian: ``gcc``; the pyenv and python.org builds ship the headers).

    .venv/bin/python scripts/build_native.py
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    ROOT / "zhtext" / "_cut.c",
    ROOT / "zhtext" / "_shingles.c",
    ROOT / "search" / "engines" / "whoosh" / "_postings.c",
]


def target_of(source: Path) -> Path:
    return source.with_name(source.stem + sysconfig.get_config_var("EXT_SUFFIX"))


def build(source: Path) -> Path:
    target = target_of(source)
    if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")[:1]
    # No -ffast-math: the scores must be the same doubles as Python's, or ties break apart.
    command = [
        *compiler,
        "-O2",
        "-fPIC",
        "-shared",
        "-ffp-contract=off",
        "-Wall",
        "-Werror",
        f"-I{sysconfig.get_paths()['include']}",
        str(source),
        "-o",
        str(target.with_suffix(".tmp")),
        "-lm",
    ]
    subprocess.run(command, check=True)
    # renamed into place, so a process importing it meanwhile never sees half a file
    target.with_suffix(".tmp").replace(target)
    return target


def main() -> int:
    failed = 0
    for source in SOURCES:
        try:
            target = build(source)
        except (OSError, subprocess.CalledProcessError) as exc:
            print(
                f"无法编译 {source.name}（{exc}）：将使用纯 Python 实现，结果相同，速度较慢。",
                file=sys.stderr,
            )
            failed += 1
            continue
        print(f"built {target.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
