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
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

__all__ = [
    "atomic_write_text",
    "atomic_write_bytes",
    "atomic_path",
    "cache_dir",
    "fsync_dir",
    "wait_flock",
    "input_problem",
    "output_option",
    "output_problem",
    "read_input_bytes",
    "refuse_special_file",
    "require_input_file",
    "require_writable",
]


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


def wait_flock(fd: int, wait_s: float, on_wait: Optional[Callable[[], None]] = None, poll_s: float = 0.2) -> bool:
    """Take an exclusive ``flock`` on ``fd``, waiting up to ``wait_s`` seconds (``on_wait`` is called once, when the
    lock is first found held). True when taken; False when another process still holds it at the deadline."""
    import fcntl
    import time

    deadline = time.monotonic() + wait_s
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            if not told and on_wait is not None:
                on_wait()
                told = True
            time.sleep(poll_s)


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


# --------------------------------------------------------------------------- inputs
# The path rule for every file a user names as input (a scenario's templates, items, transcripts,
# demonstrations; configs; skeleton frames; checkpoints): it must be a regular file (after
# symbolic links are followed), and not inside a kernel pseudo-file system (/proc, /sys, /dev),
# whose "files" are the process's environment, memory or devices, not data. A FIFO, socket or
# device is refused before it is opened for reading (reading a FIFO blocks forever).
PSEUDO_FS_ROOTS = ("/proc", "/sys", "/dev")
DEFAULT_MAX_INPUT_BYTES = 1 << 30  # 1 GiB: no text input of the package is near it


def _in_pseudo_fs(resolved: str) -> Optional[str]:
    for root in PSEUDO_FS_ROOTS:
        if resolved == root or resolved.startswith(root + "/"):
            return root
    return None


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def input_problem(path: str | Path, *, max_bytes: Optional[int] = None) -> Optional[str]:
    """Why ``path`` is refused as an input file under the path rule (``None`` when it is fine):
    missing, not a regular file (directory, FIFO, socket, device), inside /proc, /sys or /dev,
    or larger than ``max_bytes``. Never opens the file."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "file not found"
    except OSError as e:
        return f"cannot read: {e.strerror or e}"
    root = _in_pseudo_fs(os.path.realpath(path))
    if root is not None:
        return f"is inside {root} (a kernel pseudo-file system, not data); inputs must be regular files elsewhere"
    if not stat.S_ISREG(st.st_mode):
        return f"is {_kind(st.st_mode)}, not a regular file"
    if max_bytes is not None and st.st_size > max_bytes:
        return f"file is too large ({st.st_size:,} bytes; at most {max_bytes:,})"
    return None


def require_input_file(
    path: str | Path, *, error: Optional[type] = None, file: Optional[str | Path] = None, field: Optional[str] = None,
    max_bytes: Optional[int] = None,
) -> Path:
    """``path`` if it passes :func:`input_problem`, else one ``error`` line (default
    :class:`~mgreason.errors.MGReasonError`) naming ``file`` (default: ``path``) and ``field``."""
    problem = input_problem(path, max_bytes=max_bytes)
    if problem is not None:
        from mgreason.errors import MGReasonError

        err = error or MGReasonError
        if file is not None and Path(file) != Path(path):
            problem = f"{path}: {problem}"
        raise err(problem, file=file if file is not None else path, field=field)
    return Path(path)


def refuse_special_file(path: str | Path, *, error: Optional[type] = None) -> None:
    """The path rule for readers that report a missing file in their own words: an existing ``path``
    that is a FIFO, socket, device or directory, or inside /proc, /sys, /dev, is one ``error`` line."""
    if os.path.lexists(path) and os.path.exists(path):
        require_input_file(path, error=error)


def read_input_bytes(
    path: str | Path, *, error: Optional[type] = None, file: Optional[str | Path] = None, field: Optional[str] = None,
    max_bytes: int = DEFAULT_MAX_INPUT_BYTES,
) -> bytes:
    """The bytes of an input file under the path rule, bounded by ``max_bytes``. The file is opened
    without blocking and checked on its descriptor (a FIFO swapped in after the check is refused,
    never waited on); every failure is one ``error`` line."""
    from mgreason.errors import MGReasonError

    err = error or MGReasonError
    path = Path(path)
    require_input_file(path, error=err, file=file, field=field, max_bytes=max_bytes)

    def fail(msg: str) -> MGReasonError:
        if file is not None and Path(file) != path:
            msg = f"{path}: {msg}"
        return err(msg, file=file if file is not None else path, field=field)

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise fail(f"cannot read: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise fail(f"is {_kind(st.st_mode)}, not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise fail(f"cannot read: {e.strerror or e}") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise fail(f"file is too large (more than {max_bytes:,} bytes)")
    return data
