"""The pre-deployment backup: dump, compress, verify; and reading a backup back.

``mariadb-dump | gzip > file`` has three traps this module closes: the password
on the command line, a failing dump hidden by the pipe's exit status, and a file
readable by others for the moment before ``chmod``.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from runbook.db import Session, Target
from runbook.watchdog import Quiet

DUMP_FLAGS = (
    "--single-transaction",
    "--quick",
    "--routines",
    "--triggers",
    "--events",
    "--hex-blob",
    "--no-tablespaces",
    "--default-character-set=utf8mb4",
)
CHUNK = 1 << 20
TRAILER = re.compile(rb"^-- Dump completed(?: on .*)?$", re.M)
CREATE_TABLE = re.compile(rb"^CREATE TABLE `((?:[^`]|``)+)`", re.M)
DATABASE_LINE = re.compile(rb"^-- Host: .*?Database: (\S+)", re.M)

Progress = Callable[[int, int | None], None]


class BackupError(Exception):
    pass


@dataclass
class BackupInfo:
    path: Path
    size: int
    sha256: str
    tables: list[str] = field(default_factory=list)
    database: str | None = None
    uncompressed: int = 0


def dump_tool() -> str:
    for name in ("mariadb-dump", "mysqldump"):
        if path := shutil.which(name):
            return path
    raise BackupError("no mariadb-dump or mysqldump on PATH (apt-get install -y mariadb-client)")


def backup_path(directory: Path, database: str, when: datetime | None = None) -> Path:
    stamp = (when or datetime.now()).strftime("%Y%m%d_%H%M%S")
    return directory / f"{database}_pre_{stamp}.sql.gz"


def dump_command(target: Target, defaults: Path) -> list[str]:
    """The dump's argv: the defaults file first (the tools insist), never a password."""
    return [dump_tool(), f"--defaults-extra-file={defaults}", *DUMP_FLAGS, target.database]


def estimate_size(session: Session, database: str) -> int:
    """Bytes of table data and indexes: a rough size of the uncompressed dump."""
    value = session.scalar(
        "SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.TABLES "
        "WHERE table_schema = %s",
        [database],
    )
    return int(value or 0)


def create(
    target: Target,
    directory: Path,
    progress: Progress | None = None,
    expected_total: int | None = None,
    on_quiet: Callable[[float], None] | None = None,
    quiet_after_s: float = 15.0,
) -> BackupInfo:
    """Dump the target into a new 0600 gzip file and return what was written.

    On any failure the partial file is removed and BackupError says why; the
    target has not been touched either way (the dump only reads).
    """
    path = backup_path(directory, target.database)
    sha = hashlib.sha256()
    written = 0
    raw = 0
    try:
        # O_EXCL + mode 0600: the file is private from the moment it exists.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BackupError(
            f"{path}: a backup with this name already exists; not overwriting it"
        ) from None
    except OSError as exc:
        raise BackupError(f"{path}: cannot create the backup file: {exc.strerror}") from None

    class _Hashing:
        def __init__(self, fh: object) -> None:
            self.fh = fh

        def write(self, data: bytes) -> int:
            nonlocal written
            sha.update(data)
            written += len(data)
            return self.fh.write(data)  # type: ignore[attr-defined]

        def flush(self) -> None:
            self.fh.flush()  # type: ignore[attr-defined]

    ok = False
    stderr_lines: list[bytes] = []
    try:
        with os.fdopen(fd, "wb") as out, target.client_defaults_file() as defaults:
            hashing = _Hashing(out)
            proc = subprocess.Popen(
                dump_command(target, defaults),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
            )
            assert proc.stdout is not None and proc.stderr is not None
            err_reader = threading.Thread(
                target=lambda: stderr_lines.extend(proc.stderr.readlines()),  # type: ignore[union-attr]
                daemon=True,
            )
            err_reader.start()
            quiet = Quiet(on_quiet or (lambda _s: None), quiet_after_s)
            try:
                with (
                    quiet,
                    gzip.GzipFile(fileobj=hashing, mode="wb", compresslevel=6, mtime=0) as gz,  # type: ignore[arg-type]
                ):
                    # read1: hand over whatever arrived, so progress and silence both show
                    while chunk := proc.stdout.read1(CHUNK):
                        quiet.feed()
                        gz.write(chunk)
                        raw += len(chunk)
                        if progress:
                            progress(raw, expected_total)
            except BaseException:
                proc.kill()
                raise
            finally:
                rc = proc.wait()
                err_reader.join(timeout=5)
            out.flush()
            os.fsync(out.fileno())
            if rc != 0:
                message = b"".join(stderr_lines).decode("utf-8", "replace").strip()
                raise BackupError(
                    f"mariadb-dump exited {rc}: {target.secret.mask(message) or 'no message'}"
                )
        ok = True
    except OSError as exc:
        raise BackupError(f"{path}: writing the backup failed: {exc.strerror or exc}") from None
    finally:
        if not ok:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return BackupInfo(path, written, sha.hexdigest(), uncompressed=raw)


def inspect(path: Path, progress: Progress | None = None) -> BackupInfo:
    """Read a backup whole: gzip integrity, the dump-completed trailer, its tables.

    Raises BackupError naming what is wrong; a backup that fails here must not be
    trusted for a restore.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BackupError(f"{path}: {exc.strerror}") from None
    sha = hashlib.sha256()
    decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
    tables: list[str] = []
    database: str | None = None
    tail = b""
    head = b""
    raw = 0
    read = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            read += len(chunk)
            sha.update(chunk)
            try:
                data = decomp.decompress(chunk)
            except zlib.error as exc:
                raise BackupError(f"{path}: not a valid gzip file ({exc})") from None
            while decomp.unused_data:
                # concatenated gzip members are legal; start the next one
                rest = decomp.unused_data
                decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
                try:
                    data += decomp.decompress(rest)
                except zlib.error as exc:
                    raise BackupError(f"{path}: not a valid gzip file ({exc})") from None
            raw += len(data)
            window = tail + data
            if len(head) < 4096:
                head = (head + data)[:4096]
            # a CREATE TABLE line may straddle chunks: search the joined window
            for m in CREATE_TABLE.finditer(window):
                if m.end() > len(tail):  # wholly inside the old tail: already counted
                    name = m.group(1).replace(b"``", b"`").decode("utf-8", "replace")
                    if not tables or tables[-1] != name:
                        tables.append(name)
            tail = window[-4096:]
            if progress:
                progress(read, size)
    if not decomp.eof:
        raise BackupError(f"{path}: the gzip stream is truncated (the backup is incomplete)")
    if not TRAILER.search(tail):
        raise BackupError(
            f"{path}: no '-- Dump completed' trailer: the dump stopped before the end"
        )
    if m := DATABASE_LINE.search(head):
        database = m.group(1).decode("utf-8", "replace")
    return BackupInfo(
        path, size, sha.hexdigest(), tables=tables, database=database, uncompressed=raw
    )
