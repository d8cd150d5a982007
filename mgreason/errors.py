"""User-facing errors: one clear line naming the file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Optional


class MGReasonError(Exception):
    """An error caused by user input. The CLI prints ``str(err)`` and exits with code 2."""

    def __init__(self, message: str, *, file: Optional[str | Path] = None, field: Optional[str] = None):
        self.message = message
        self.file = str(file) if file is not None else None
        self.field = field
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.file and self.field:
            where = f"{self.file}: {self.field}: "
        elif self.file:
            where = f"{self.file}: "
        elif self.field:
            where = f"{self.field}: "
        return where + self.message


class ScenarioError(MGReasonError):
    """A scenario file, its templates or its items are invalid."""


class BackendError(MGReasonError):
    """A backend could not be created or a model could not be loaded."""


class DataError(MGReasonError):
    """Skeleton, transcript or dataset input is unreadable or invalid."""


class DatasetMissingError(ScenarioError):
    """A scenario's items come from a dataset the user does not have (yet); the message says how to get it."""


# --------------------------------------------------------------------------- Ctrl-C
# What a command keeps when it is interrupted and how to resume it: a long command sets this
# before its work starts, and the CLI prints it on one line when Ctrl-C ends the command (exit 130).
_DEFAULT_INTERRUPT_NOTE = (
    "files reported as written before the interrupt are complete, nothing half-written is left "
    "under a final name; run the same command again to finish"
)
_interrupt_note: list[str] = [_DEFAULT_INTERRUPT_NOTE]


def set_interrupt_note(note: Optional[str]) -> None:
    """What the running command keeps on Ctrl-C and how to resume (``None``: the generic note)."""
    _interrupt_note[0] = note or _DEFAULT_INTERRUPT_NOTE


def interrupt_note() -> str:
    return _interrupt_note[0]


class MGReasonWarning(UserWarning):
    """Something suspicious in user input that is allowed: the CLI prints ``warning: <message>``."""


def printable(text: str) -> str:
    """``text`` safe for one terminal line: control characters (ANSI escape sequences from an item
    id, a newline in a file name...) are shown escaped, as ``\\x1b`` or ``\\n``, never sent raw."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
