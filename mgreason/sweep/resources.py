"""What this machine offers model workers, and who holds which part of it (the local executor's admission).

The local executor runs a model's worker only when the GPUs and CPU threads it declares
(``resources: {gpus, cpus}`` in the sweep file) are free, and pins it to them: ``CUDA_VISIBLE_DEVICES`` names
its GPUs, its CPU affinity and ``OMP_NUM_THREADS`` its cores. On Ray the cluster does this (``num_gpus``,
``num_cpus``); this module is not used there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from typing import Optional, Sequence

from mgreason.sweep.spec import ModelEntry, SweepError


@dataclass(frozen=True)
class Machine:
    gpus: tuple[str, ...]  # device ids as CUDA_VISIBLE_DEVICES names them
    cpus: tuple[int, ...]  # cores this process may run on


@dataclass(frozen=True)
class Allocation:
    gpus: tuple[str, ...] = ()
    cpus: tuple[int, ...] = ()

    def env(self, pin_gpus: bool) -> dict[str, str]:
        """Environment of a worker holding this allocation."""
        out: dict[str, str] = {}
        if pin_gpus:
            out["CUDA_VISIBLE_DEVICES"] = ",".join(self.gpus)
        if self.cpus:
            n = str(len(self.cpus))
            out.update(OMP_NUM_THREADS=n, MKL_NUM_THREADS=n, MGREASON_THREADS=n,
                       MGREASON_WORKER_CPUS=",".join(map(str, self.cpus)))
        return out


def _visible_gpus() -> tuple[str, ...]:
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return tuple(d.strip() for d in env.split(",") if d.strip() and d.strip() != "-1")
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return ()
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU "))


def detect_machine() -> Machine:
    """The GPUs (``CUDA_VISIBLE_DEVICES`` when set, else ``nvidia-smi -L``; torch is not imported) and the CPU cores
    this process may use."""
    try:
        cpus = tuple(sorted(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = tuple(range(os.cpu_count() or 1))
    return Machine(gpus=_visible_gpus(), cpus=cpus)


def declared(entry: ModelEntry) -> tuple[int, Optional[int]]:
    r = entry.resources
    return (r.gpus, r.cpus) if r is not None else (0, None)


def default_parallel(models: Sequence[ModelEntry], machine: Machine) -> int:
    """Workers at once when the sweep does not say: 1 (one model after another, as before) unless models declare
    resources; then as many as fit side by side on this machine (at least 1)."""
    if not any(m.resources is not None for m in models):
        return 1
    gpus, cpus = len(machine.gpus), len(machine.cpus)
    n = 0
    for m in sorted(models, key=lambda m: declared(m)[0]):
        g, c = declared(m)
        c = c or 1
        if g > gpus or c > cpus:
            break
        gpus, cpus, n = gpus - g, cpus - c, n + 1
    return max(1, n)


def check_fits(models: Sequence[ModelEntry], machine: Machine) -> None:
    """Every model must fit on the machine alone, or it would wait for ever."""
    for m in models:
        g, c = declared(m)
        if g > len(machine.gpus):
            raise SweepError(
                f"model {m.name} declares {g} GPU(s) but this machine shows {len(machine.gpus)} "
                "(CUDA_VISIBLE_DEVICES / nvidia-smi); lower resources.gpus or use --executor ray on a cluster",
                field=f"models.{m.name}.resources.gpus",
            )
        if c is not None and c > len(machine.cpus):
            raise SweepError(
                f"model {m.name} declares {c} CPU thread(s) but this process may use {len(machine.cpus)} core(s)",
                field=f"models.{m.name}.resources.cpus",
            )


@dataclass
class Allocator:
    """Hands out disjoint GPUs and cores; ``acquire`` blocks until the request fits."""

    machine: Machine
    max_parallel: int
    _free_gpus: list[str] = field(default_factory=list)
    _free_cpus: list[int] = field(default_factory=list)
    _running: int = 0
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        self._free_gpus = list(self.machine.gpus)
        self._free_cpus = list(self.machine.cpus)

    def _fits(self, gpus: int, cpus: int) -> bool:
        return self._running < self.max_parallel and gpus <= len(self._free_gpus) and cpus <= len(self._free_cpus)

    def try_acquire(self, entry: ModelEntry, alone: bool) -> Optional[Allocation]:
        """An allocation for ``entry`` if it fits now. ``alone``: no other worker will run beside it, so a model
        that declares no CPU count gets every core (a sequential sweep behaves as before)."""
        g, c = declared(entry)
        want_c = c if c is not None else (len(self._free_cpus) if alone else 1)
        with self._cond:
            if not self._fits(g, max(1, want_c)):
                return None
            gpus, self._free_gpus = tuple(self._free_gpus[:g]), self._free_gpus[g:]
            cpus, self._free_cpus = tuple(self._free_cpus[: max(1, want_c)]), self._free_cpus[max(1, want_c):]
            self._running += 1
            return Allocation(gpus=gpus, cpus=cpus)

    def release(self, a: Allocation) -> None:
        with self._cond:
            self._free_gpus = sorted(self._free_gpus + list(a.gpus), key=lambda d: (len(d), d))
            self._free_cpus = sorted(self._free_cpus + list(a.cpus))
            self._running -= 1
            self._cond.notify_all()

    def wait(self, timeout: float) -> None:
        with self._cond:
            self._cond.wait(timeout)


def pin_current_process() -> None:
    """In a worker: keep to the cores the executor gave it (``MGREASON_WORKER_CPUS``)."""
    cpus = os.environ.get("MGREASON_WORKER_CPUS")
    if not cpus:
        return
    try:
        os.sched_setaffinity(0, {int(c) for c in cpus.split(",") if c.strip()})
    except (AttributeError, OSError, ValueError):  # pragma: no cover - best effort
        pass


__all__ = [
    "Allocation",
    "Allocator",
    "Machine",
    "check_fits",
    "declared",
    "default_parallel",
    "detect_machine",
    "pin_current_process",
]
