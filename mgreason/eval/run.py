"""``run-scenario``: one model, one scenario, in process, through the evaluation engine.

Prompts are all rendered (and so validated) before the model is asked anything; answers already in
the response cache (the same one sweeps use) are not recomputed; the run directory appears only when
the run is complete: it is written under a hidden ``.partial`` name and renamed at the end.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from mgreason.backends.base import Backend
from mgreason.errors import MGReasonError
from mgreason.eval.cache import ResponseCache, model_identity
from mgreason.eval.engine import BatchReport, Cell, Engine, Totals
from mgreason.eval.plan import build_requests, generation_params, make_run_config, new_run_id
from mgreason.eval.records import RunSummary, SampleRecord
from mgreason.eval.report import summary_markdown
from mgreason.eval.store import MemoryAttempts, MemoryStore
from mgreason.eval.summary import summarize
from mgreason.scenario.loader import Scenario
from mgreason.scenario.render import PromptRequest


DEFAULT_BATCH = 64  # prompts per backend call: large enough for batching engines, small enough to lose little on Ctrl-C


@dataclass
class RunOutput:
    run_dir: Path
    summary: RunSummary
    records: list[SampleRecord]
    totals: Totals


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


class _Claim:
    """The hidden ``.<name>.partial`` directory of a run, created and ``flock``-ed at the start: a second
    run into the same ``--out`` is refused at once (not after doing all the work); one left by a killed
    run (no lock held) is taken over. Released, and removed unless renamed, by :meth:`release`."""

    def __init__(self, final: Path):
        import fcntl

        self.final = final
        self.path = final.parent / f".{final.name}.partial"
        final.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            try:
                self.path.mkdir()
            except FileExistsError:
                pass
            try:
                fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            except FileNotFoundError:
                continue  # removed by the run that held it, just now
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise RunClaimed(
                    "another run is writing to this output directory right now; choose another --out", file=final
                ) from None
            if os.path.samestat(os.fstat(fd), os.stat(self.path)) if self.path.exists() else False:
                for child in list(self.path.iterdir()):  # left by a killed run
                    shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
                self.fd = fd
                return
            os.close(fd)  # removed or replaced meanwhile: try again
        raise RunClaimed("could not claim the output directory (it keeps changing); choose another --out", file=final)

    def release(self, renamed: bool) -> None:
        if not renamed:
            shutil.rmtree(self.path, ignore_errors=True)
        os.close(self.fd)


class RunClaimed(MGReasonError):
    """Another run holds the output directory."""


_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}


def check_out_dir(final: Path) -> None:
    """A run directory must be new or empty."""
    if final.exists() and (not final.is_dir() or any(final.iterdir())):
        raise MGReasonError("output path already exists and is not an empty directory; choose another --out", file=final)


def run_scenario(
    scenario: Scenario,
    backend: Backend,
    *,
    out_dir: Optional[Path] = None,
    runs_root: Path = Path("runs"),
    limit: Optional[int] = None,
    seed: int = 0,
    requests: Optional[list[PromptRequest]] = None,
    progress: Optional[Callable[[int], None]] = None,
    n_boot: int = 10000,
    cache: Optional[ResponseCache] = None,
    options: Optional[Mapping[str, Any]] = None,
    engine_args: Optional[Mapping[str, Any]] = None,
    retries: int = 0,
    batch_size: Optional[int] = DEFAULT_BATCH,
    ceiling: bool = True,
) -> RunOutput:
    """Run every item under every condition and write the run directory.

    Prompts go to the backend in batches of about ``batch_size`` (whole items; None = all at once), and each
    batch's answers reach the cache as soon as it is done, so an interrupted run keeps them.
    With ``cache``, answers are looked up under the model identity (``backend.model_info()`` plus the
    ``options``/``engine_args`` the backend was created with) and new ones are stored.
    ``ceiling``: fit the evidence ceiling (:mod:`mgreason.eval.ceiling`) beside the LLM's rows.
    """
    if requests is None:
        requests = build_requests(scenario, limit=limit, seed=seed)
    info = backend.model_info()
    for attempt in range(100):
        run_id = new_run_id(scenario.id, info.id, backend.name) if out_dir is None else Path(out_dir).name
        final = Path(out_dir) if out_dir is not None else runs_root / run_id
        check_out_dir(final)
        try:
            claim = _Claim(final)  # before any work: a second run into the same directory stops here
        except RunClaimed:
            if out_dir is not None:
                raise
            continue  # a default run id taken by a run started in the same microsecond: a new one
        break
    renamed = False
    try:
        out = _run_claimed(
            scenario, backend, info, run_id, final, claim.path, requests, limit, seed, progress, n_boot, cache,
            options, engine_args, retries, batch_size, ceiling,
        )
        renamed = True
        return out
    except OSError as e:
        if e.errno in _DISK_ERRNOS:
            raise MGReasonError(
                f"cannot write the run directory: {e.strerror or e}; nothing was kept (the answers computed are in "
                "the response cache, if it is on); free space and run the same command again",
                file=final,
                field="--out",
            ) from None
        raise
    finally:
        claim.release(renamed)


def _run_claimed(
    scenario: Scenario, backend: Backend, info: Any, run_id: str, final: Path, partial: Path,
    requests: Optional[list[PromptRequest]], limit: Optional[int], seed: int, progress: Any, n_boot: int,
    cache: Optional[ResponseCache], options: Optional[Mapping[str, Any]], engine_args: Optional[Mapping[str, Any]],
    retries: int, batch_size: Optional[int], ceiling: bool,
) -> RunOutput:
    assert requests is not None

    mkey = None
    if cache is not None:
        identity = model_identity(backend.name, info, options, engine_args)
        mkey = cache.register_model(identity)

    def on_batch(b: BatchReport) -> None:
        if progress is not None and b.cached:
            progress(b.cached)  # the backend reports the computed ones itself

    store = MemoryStore()
    engine = Engine(
        backend=backend, scenario=scenario, run_id=run_id, store=store, attempts=MemoryAttempts(), cache=cache,
        model_key=mkey, retries=retries, batch_size=batch_size, progress=progress, on_batch=on_batch,
    )  # fmt: skip
    cells = [Cell((r.condition, r.item_id, 0), r) for r in requests]
    totals = engine.run(cells)
    got = store.load()
    records = [got[c.key] for c in cells]

    summary = summarize(
        run_id, scenario, records, info.id, backend.name, totals.seconds, seed=seed, n_boot=n_boot, ceiling=ceiling
    )
    params = generation_params(scenario, seed=None)
    config = make_run_config(
        run_id, scenario, backend.name, info, params, seed=seed, limit=limit,
        n_items=len({r.item_id for r in requests}),
        model_extra={"cache_key": mkey} if mkey else None,
    )  # fmt: skip

    _write_json(partial / "config.json", config.model_dump(mode="json"))
    with (partial / "samples.jsonl").open("w", encoding="utf-8") as f:
        for r in records:
            f.write(r.model_dump_json() + "\n")
    _write_json(partial / "summary.json", summary.model_dump(mode="json"))
    (partial / "summary.md").write_text(summary_markdown(summary, config), encoding="utf-8")
    for name in ("config.json", "samples.jsonl", "summary.json", "summary.md"):
        fd = os.open(partial / name, os.O_RDONLY)
        try:
            os.fsync(fd)  # a full disk surfaces here at the latest, before the rename
        finally:
            os.close(fd)
    if final.exists():
        final.rmdir()  # empty, checked above
    partial.rename(final)
    return RunOutput(run_dir=final, summary=summary, records=records, totals=totals)


__all__ = ["RunOutput", "check_out_dir", "run_scenario"]
