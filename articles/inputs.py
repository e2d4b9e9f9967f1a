"""Input files for ingest, as read from disk, an upload or an archive: bytes, or a reason.

Every way in (the command, the admin upload, the inbox folder) turns what it was given into
``InputFile`` values here, with the same size limits; an archive stays whole (one input) and is
unpacked later by whoever processes it, with the limits below checked before anything is inflated.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from .models import IngestItem
from .parsing import size_describe

ARTICLE_SUFFIXES = frozenset({".md", ".markdown"})
ARCHIVE_SUFFIXES = frozenset({".zip"})
Kind = IngestItem.Kind


@dataclass(frozen=True)
class InputFile:
    """One file for ingest: its bytes, or the reason it could not be taken."""

    path: str
    data: bytes = b""
    size: int = 0
    error: str = ""
    kind: str = Kind.FILE


class ArchiveError(Exception):
    """An archive that cannot be unpacked at all; ``str()`` is the plain-Chinese reason."""


def _file_too_large(size: int) -> str:
    limit = settings.INGEST_MAX_FILE_BYTES
    return f"文件过大（{size_describe(size=size)}），超过单个文件上限 {size_describe(size=limit)}"


def _archive_too_large(size: int) -> str:
    limit = settings.INGEST_MAX_ARCHIVE_BYTES
    return (
        f"压缩包过大（{size_describe(size=size)}），超过上限 {size_describe(size=limit)}；"
        "请拆成几个较小的压缩包"
    )


def input_from_bytes(*, path: str, size: int, read: Callable[[], bytes]) -> InputFile:
    """An input for a file of ``size`` bytes; ``read`` is only called when the size is within the limit."""
    archive = Path(path).suffix.lower() in ARCHIVE_SUFFIXES
    kind = Kind.ARCHIVE if archive else Kind.FILE
    if size > (settings.INGEST_MAX_ARCHIVE_BYTES if archive else settings.INGEST_MAX_FILE_BYTES):
        error = _archive_too_large(size) if archive else _file_too_large(size)
        return InputFile(path=path, size=size, error=error, kind=kind)
    try:
        data = read()
    except OSError as exc:
        return InputFile(path=path, error=f"无法读取文件：{exc.strerror or exc}", kind=kind)
    return InputFile(path=path, data=data, size=len(data), kind=kind)


def inputs_from_paths(*, paths: Iterable[str | Path]) -> Iterator[InputFile]:
    """Every article file and archive under the given files and folders, in a stable order."""
    for raw_path in paths:
        path = Path(raw_path)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES | ARCHIVE_SUFFIXES
            )
            yield from inputs_from_paths(paths=found)
        elif path.is_file():
            try:
                size = path.stat().st_size
            except OSError as exc:
                yield InputFile(path=str(path), error=f"无法读取文件：{exc.strerror or exc}")
                continue
            yield input_from_bytes(path=str(path), size=size, read=path.read_bytes)
        else:
            yield InputFile(path=str(path), error="路径不存在")


def _archive_limits_error(*, count: int, total: int) -> str:
    if count > settings.INGEST_MAX_ARCHIVE_MEMBERS:
        return (
            f"压缩包内有 {count} 个文章文件，超过上限 {settings.INGEST_MAX_ARCHIVE_MEMBERS} 个，"
            "未解压；请拆成几个较小的压缩包再导入"
        )
    if total > settings.INGEST_MAX_ARCHIVE_TOTAL_BYTES:
        limit = size_describe(size=settings.INGEST_MAX_ARCHIVE_TOTAL_BYTES)
        return (
            f"压缩包解压后共 {size_describe(size=total)}，超过上限 {limit}，"
            "未解压；请拆成几个较小的压缩包再导入"
        )
    return ""


def archive_members_iter(*, opener: Callable[[], zipfile.ZipFile], label: str) -> Iterator[InputFile]:
    """Every article file in a .zip, one ``InputFile`` each (with its reason when it cannot be read).

    The limits are checked against the archive's own directory before anything is inflated,
    so a small archive that unpacks to gigabytes costs nothing: over the member limit it is
    refused as a whole (``ArchiveError``); over the total-size limit every member is reported
    with the reason. A member is never inflated past its declared size (zipfile stops there
    and checks the CRC), and is read with a bound all the same.
    """
    try:
        archive = opener()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ArchiveError(f"不是有效的 zip 压缩包：{exc}") from exc
    with archive:
        members = sorted(
            (
                m
                for m in archive.infolist()
                if not m.is_dir() and Path(m.filename).suffix.lower() in ARTICLE_SUFFIXES
            ),
            key=lambda m: m.filename,
        )
        total = sum(m.file_size for m in members)
        if len(members) > settings.INGEST_MAX_ARCHIVE_MEMBERS:
            raise ArchiveError(_archive_limits_error(count=len(members), total=total))
        whole_error = _archive_limits_error(count=len(members), total=total)
        limit = settings.INGEST_MAX_FILE_BYTES
        for member in members:
            member_label = f"{label}!{member.filename}"
            if whole_error:
                yield InputFile(path=member_label, size=member.file_size, error=whole_error)
                continue
            if member.file_size > limit:
                yield InputFile(
                    path=member_label, size=member.file_size, error=_file_too_large(member.file_size)
                )
                continue
            try:
                with archive.open(member) as handle:
                    data = handle.read(limit + 1)
            except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError, zlib.error) as exc:
                yield InputFile(path=member_label, error=f"压缩包内文件损坏，无法解压：{exc}")
                continue
            if len(data) > limit:
                yield InputFile(path=member_label, size=len(data), error=_file_too_large(len(data)))
                continue
            yield InputFile(path=member_label, data=data, size=len(data))
