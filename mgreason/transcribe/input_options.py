"""The command-line options that say how to read a skeleton input (frame rate, joint layout, PYSKL entry,
person), defined once for every command that reads one (``mgreason transcribe``, ``mgreason show-clip``).

Each is a ``typing.Annotated`` type carrying its ``typer.Option``; a command declares, e.g.,
``layout: LayoutOption = None``. Importing this module imports neither numpy nor torch.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

__all__ = ["InputFpsOption", "LayoutOption", "EntryOption", "PersonOption"]

InputFpsOption = Annotated[
    Optional[float],
    typer.Option(
        "--fps", help="frame rate of input without one: skeleton arrays, OpenPose and image directories (default 25)"
    ),
]
LayoutOption = Annotated[
    Optional[str], typer.Option("--layout", help="joint layout of .npy/.npz/.pkl input, e.g. imigue22")
]
EntryOption = Annotated[Optional[str], typer.Option("--entry", help="PYSKL pickle: the annotation's frame_dir or index")]
PersonOption = Annotated[
    int, typer.Option("--person", min=0, help="person index of multi-person arrays / PYSKL entries")
]
