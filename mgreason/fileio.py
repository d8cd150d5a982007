"""Durable file writes shared by the package: a temporary file in the same directory, fsync, rename.

A reader never sees a half-written file, and a crash or a Ctrl-C leaves the old file or the new
one under the final name, never a mix (the temporary file is removed on any exception, including
``KeyboardInterrupt``). New files get the mode the umask gives (``0666 & ~umask``, as ``open()``
would), a replaced file keeps its mode.

* :func:`atomic_write_text` / :func:`atomic_write_bytes` — the whole content at once;
* :func:`atomic_path` — a context manager yielding a temporary path for writers that want a path
  (``np.savez_compressed``, ``torch.save``, ``safetensors.save_file``, ``fig.savefig``, ...).
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

__all__ = ["atomic_write_text", "atomic_write_bytes", "atomic_path", "cache_dir", "fsync_dir", "output_option", "output_problem", "require_writable"]


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask() sets it, a race with other threads)
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _final_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777  # replacing a file: keep its mode
    except OSError:
        return 0o666 & ~_umask()


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` (same suffix, so writers that append one do not);
    on a clean exit it is fsynced and renamed to ``path``; on any exception it is removed.

    >>> with atomic_path(out / "x.npz") as tmp:
    ...     np.savez_compressed(tmp, a=a)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        if not os.path.exists(tmp):
            raise FileNotFoundError(f"the writer did not write {tmp}")
        _fsync_file(tmp)
        os.chmod(tmp, _final_mode(path))
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file + fsync + rename."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` via a temporary file + fsync + rename."""
    atomic_write_bytes(path, text.encode("utf-8"))


def output_problem(path: str | Path, *, directory: bool = False) -> Optional[str]:
    """Why ``path`` cannot be written as an output file (or, with ``directory``, an output
    directory) — ``None`` when it can — without creating it: a file where a directory is needed or
    the reverse, a parent that is a file, or a nearest existing directory in which a probe file
    cannot be created (permissions, read-only file system). Call it before the work whose result
    goes there."""
    path = Path(path)
    if directory:
        if path.exists() and not path.is_dir():
            return "exists and is not a directory"
    elif path.is_dir():
        return "is a directory; give a file name"
    parent = path if directory and path.is_dir() else path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is a file, not a directory"
    try:
        fd, probe = tempfile.mkstemp(prefix=".mgreason-probe-", dir=parent)
    except OSError as e:
        return f"cannot write in {parent}: {e.strerror or e}"
    os.close(fd)
    _unlink_quietly(probe)
    if not directory and path.exists() and not os.access(path, os.W_OK):
        return "file exists and is not writable"
    return None


def require_writable(path: str | Path, *, directory: bool = False, field: Optional[str] = "--out") -> None:
    """Raise one :class:`~mgreason.errors.MGReasonError` line (exit 2) when :func:`output_problem` finds one."""
    problem = output_problem(path, directory=directory)
    if problem is not None:
        from mgreason.errors import MGReasonError

        raise MGReasonError(f"cannot write the output here: {problem}", file=path, field=field)


def output_option(default: Any, *param_decls: str, directory: bool = False, **kwargs: Any) -> Any:
    """A ``typer.Option`` for a path the command writes (a file, or with ``directory`` a directory), checked
    with :func:`require_writable` when the command line is parsed, before any work: a bad path is one line
    and exit 2 instead of a traceback after the work. ``None`` and ``'-'`` (stdout) pass unchecked. The
    other arguments are ``typer.Option``'s."""
    import typer

    option = next((d for d in param_decls if d.startswith("--")), "--out")
    return typer.Option(default, *param_decls, callback=_output_check(option, directory), **kwargs)


def _output_check(option: str, directory: bool) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is not None and str(value) != "-":
            require_writable(Path(value), directory=directory, field=option)
        return value

    check.output_directory = directory  # type: ignore[attr-defined]  # marks the option as checked (tests)
    return check


def cache_dir() -> Path:
    """Root of mgreason's cache (``$MGREASON_CACHE_DIR`` or ``~/.cache/mgreason``): converted models, parsed
    skeleton files, the response cache."""
    env = os.environ.get("MGREASON_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "mgreason"
