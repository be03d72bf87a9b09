"""Files tierwatch makes on disk: with the mode they need whatever the umask, and written
so that a crash or a power cut leaves the old file or the new one, never half of either.

Under systemd the unit's `UMask=0027` keeps what tierwatch writes from other users; run by
hand (a shell's umask is usually 022) the same files would be world-readable. The store
holds token hashes and the site's whole history, the reports the site's availability:
the modes are set here, explicitly, so they do not depend on who started the process.
"""

from __future__ import annotations

import os
from pathlib import Path

STORE_MODE = 0o600  # the SQLite store; SQLite gives its -wal and -shm files the same mode
REPORT_MODE = 0o640  # reports: the service's group (a web server, a backup job) may read


def create_with_mode(path: Path, mode: int) -> bool:
    """Create `path` empty with exactly `mode` unless it exists. True if it was made."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, mode)  # os.open's mode is filtered by the umask; fchmod is not
    finally:
        os.close(fd)
    return True


def fsync_directory(directory: Path) -> None:
    """Make a rename or a new name in `directory` durable (the file's own fsync is not
    enough: the directory entry is data of the directory)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_durably(path: Path, body: bytes, mode: int) -> None:
    """Write `body` to `path` with `mode`: into a temporary file beside it, fsync'd, renamed
    over `path`, then the directory fsync'd. Readers see the old file or the new, whole."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(body)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)
