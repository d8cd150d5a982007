"""An advisory inter-process lock on a file (POSIX ``flock``), used so that two processes do not convert the
same model at once. It only avoids duplicate work: correctness comes from the atomic renames."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX: rely on the atomic rename alone
        yield
        return
    try:
        fh = open(path, "a+")
    except OSError:  # read-only cache dir: work without the lock (the rename still protects)
        yield
        return
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        yield
    finally:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        finally:
            fh.close()


__all__ = ["file_lock"]
