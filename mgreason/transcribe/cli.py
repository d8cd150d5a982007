"""The transcription commands (registered by :mod:`mgreason.cli`): ``mgreason transcribe``,
``tune-segmentation`` and ``train`` (training a recognizer ends with its transcription
settings, :func:`mgreason.transcribe.finish.train_and_finish`).

Heavy modules (torch, MediaPipe) are imported inside the commands so ``mgreason --help`` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, List, Optional

import typer

from mgreason.errors import DataError, MGReasonError
from mgreason.fileio import atomic_write_text, output_option
from mgreason.transcribe.input_options import EntryOption, InputFpsOption, LayoutOption, PersonOption
from mgreason.transcribe.video.options import (
    DEFAULT_HANDS,
    DEFAULT_MAX_SIDE,
    DEFAULT_POSE_FPS,
    DEFAULT_VIDEO_MODEL,
    DEFAULT_WORKERS,
    VIDEO_KINDS,
    PoseFpsOption,
    VideoHandsOption,
    VideoMaxSideOption,
    VideoModelOption,
    VideoReaderThreadOption,
    VideoWorkersOption,
)
from mgreason.transcribe.video.options import video_options as video_options_from

__all__ = ["register", "transcribe_cmd", "tune_segmentation_cmd", "train_cmd"]


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _console():
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


class _Bar:
    """A rich progress bar that is silent when stderr is not a terminal (unless MGREASON_PROGRESS=1)."""

    def __init__(self, console: Any):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        enabled = console.is_terminal or os.environ.get("MGREASON_PROGRESS") == "1"
        self._file = None
        if enabled:
            # a private copy of fd 2: the video reader silences fd 2 (native MediaPipe logs) meanwhile
            try:
                self._file = os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1)
                console = Console(file=self._file, force_terminal=console.is_terminal or None)
            except (OSError, ValueError, AttributeError):
                self._file = None
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,.0f}/{task.total:,.0f} frames"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=not enabled,
        )
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> "_Bar":
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)
        if self._file is not None:
            self._file.close()

    def callback(self, name: str):
        def update(done: int, total: Optional[int]) -> None:
            if name not in self.tasks:
                self.tasks[name] = self.progress.add_task(name, total=total or None)
            self.progress.update(self.tasks[name], completed=done, total=total or None)

        return update


def transcribe_cmd(
    inputs: List[Path] = typer.Argument(
        ...,
        help="OpenPose JSON directory, .npy/.npz keypoints, a PYSKL .pkl (with --entry), a video file, an animated "
        ".gif or a directory of frame images; several (a batch: models loaded once) with --out-dir",
        metavar="INPUT...",
    ),
    out: Optional[Path] = output_option(
        None, "--out", "-o", help="transcript JSON to write (metadata goes to <out>.meta.json); one input"
    ),
    out_dir: Optional[Path] = output_option(
        None, "--out-dir", directory=True, help="write <input name>.json (+ .meta.json) here, for each input"
    ),
    checkpoint: Optional[Path] = typer.Option(
        None, "--checkpoint", "-c", help="recognizer checkpoint directory (default: the bundled tiny-real298)"
    ),
    fps: InputFpsOption = None,
    layout: LayoutOption = None,
    entry: EntryOption = None,
    person: PersonOption = 0,
    video_model: VideoModelOption = DEFAULT_VIDEO_MODEL,
    pose_fps: PoseFpsOption = DEFAULT_POSE_FPS,
    video_max_side: VideoMaxSideOption = DEFAULT_MAX_SIDE,
    video_reader_thread: VideoReaderThreadOption = True,
    video_hands: VideoHandsOption = DEFAULT_HANDS,
    video_workers: VideoWorkersOption = DEFAULT_WORKERS,
    text: Optional[str] = output_option(None, "--text", help="also write the text rendering to this file ('-' = stdout)"),
    scores: Optional[Path] = output_option(None, "--scores", help="also save per-frame class probabilities (.npz)"),
    high: Optional[float] = typer.Option(
        None, "--high", help="hysteresis: a gesture starts where P(not background) >= HIGH [checkpoint's]"
    ),
    low: Optional[float] = typer.Option(None, "--low", help="hysteresis: ... and lasts while it stays >= LOW [checkpoint's]"),
    min_duration: Optional[float] = typer.Option(None, "--min-duration", help="drop gestures shorter than this (s) [checkpoint's]"),
    merge_gap: Optional[float] = typer.Option(
        None, "--merge-gap", help="merge same-label gestures closer than this (s) [checkpoint's]"
    ),
    min_label_run: Optional[float] = typer.Option(
        None, "--min-label-run", help="label runs shorter than this (s) inside a gesture are absorbed [checkpoint's]"
    ),
    smooth: Optional[float] = typer.Option(None, "--smooth", help="Gaussian smoothing of the scores, sigma in seconds [checkpoint's]"),
    min_gap: float = typer.Option(0.5, "--min-gap", help="spans without a person this long (s) are reported and skipped"),
    chunk_s: float = typer.Option(60.0, "--chunk", min=1.0, help="seconds per network pass (memory bound; result unchanged)"),
    threads: Optional[int] = typer.Option(
        None, "--threads", min=1, help="torch CPU threads for the recognizer (default 1: its first pass with more costs seconds)"
    ),
    rid: Optional[str] = typer.Option(None, "--id", help="transcript id (default: the input's name)"),
    max_frames: Optional[int] = typer.Option(None, "--max-frames", min=1, help="only the first N frames"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no summary on stderr"),
) -> None:
    """Recognise micro-gestures in a long recording: a timestamped transcript (source = recognizer)."""
    from mgreason.transcribe.pipeline import process_age_s

    age = process_age_s()
    started = None if age is None else time.perf_counter() - age
    from mgreason.errors import set_interrupt_note
    from mgreason.transcribe.inputs import input_kind
    from mgreason.transcribe.pipeline import RecognizerLoader, write_outputs
    from mgreason.transcribe.segments import SegmentParams

    con = _console()
    segmentation = {k: v for k, v in (("smooth_s", smooth), ("high", high), ("low", low),
                    ("min_duration_s", min_duration), ("merge_gap_s", merge_gap),
                    ("min_label_run_s", min_label_run)) if v is not None}  # fmt: skip
    # checked now, before the model is loaded, against the defaults; applied to the checkpoint's later
    SegmentParams(**{**SegmentParams().to_dict(), "low": 0.0, "high": 1.0, **segmentation})
    if not 0 <= min_gap <= 86400:
        raise DataError(f"must be in [0, 86400] seconds, got {min_gap}", field="--min-gap")
    if not 1 <= chunk_s <= 3600:
        raise DataError(f"must be in [1, 3600] seconds, got {chunk_s}", field="--chunk")
    if (out is None) == (out_dir is None):
        raise DataError("give --out FILE (one input) or --out-dir DIR (one or more inputs)", field="--out")
    if out is not None and len(inputs) > 1:
        raise DataError(f"{len(inputs)} inputs: use --out-dir DIR (one transcript per input)", field="--out")
    if len(inputs) > 1:
        for name, value in (("--id", rid), ("--scores", scores), ("--text", None if text == "-" else text)):
            if value is not None:
                raise DataError(f"takes one input ({len(inputs)} given){'; use --text -' if name == '--text' else ''}",
                                field=name)  # fmt: skip
    kinds = []
    for input in inputs:  # unsupported inputs fail before any is read or the model is loaded
        if not input.exists():
            raise DataError("no such file or directory", file=input)
        kinds.append(input_kind(input))
    outs = [out] if out is not None else [out_dir / f"{_name(p)}.json" for p in inputs]
    if len(set(outs)) < len(outs):
        dup = next(o for o in outs if outs.count(o) > 1)
        raise DataError(f"two inputs would write the same transcript {dup.name}; give them different names", file=dup)
    video_options = None
    if any(k in VIDEO_KINDS for k in kinds):  # the video reader's options, checked before the model is loaded
        video_options = video_options_from(video_model, pose_fps, video_max_side, video_reader_thread, video_hands,
                                           video_workers)  # fmt: skip
    if video_options is not None and len(inputs) > 1:
        video_options["reuse_models"] = True  # one MediaPipe graph for the whole batch, reset between inputs
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    loader = RecognizerLoader(checkpoint)  # torch and the checkpoint, in the background, once for all inputs
    for i, (input, kind, dest) in enumerate(zip(inputs, kinds, outs)):
        done = "nothing was written" if i == 0 else "written so far: " + ", ".join(str(o) for o in outs[:i])
        set_interrupt_note(
            f"{done}: {dest} and its metadata are written only when the whole recording is transcribed; "
            "run the same command again"
        )
        res = _transcribe_one(con, input, dest, loader, quiet, started if i == 0 else None, dict(
            segmentation=segmentation, id=rid, min_gap_s=min_gap, chunk_s=chunk_s, threads=threads, fps=fps,
            layout=layout, entry=entry, person=person, video_model=video_model, max_frames=max_frames,
            video_options=video_options if kind in VIDEO_KINDS else None))  # fmt: skip
        if text == "-" and len(inputs) > 1:
            print(f"== {res.transcript.id}")  # which input the rendering below belongs to
        meta_path = write_outputs(res, dest, text=text, scores=scores)
        _report(con, res, input, dest, meta_path, quiet)


def _name(path: Path) -> str:
    """The transcript name of an input: its file name without the suffix (a directory: its name)."""
    return path.name if path.is_dir() else path.stem


def _transcribe_one(con: Any, input: Path, out: Path, loader: Any, quiet: bool, started: Optional[float],
                    kw: dict[str, Any]) -> Any:  # fmt: skip
    from mgreason.transcribe.pipeline import transcribe_file

    announced: list[bool] = []
    with _Bar(con) as bar:
        bar_scoring = bar.callback("scoring")

        def on_scoring(loaded: Any, done: int, total: Optional[int]) -> None:
            # once the first frames are scored (the input passed its checks, so an error stays one line):
            # the sign, in logs and pipes (no progress bar there), that the long part is under way
            if not quiet and not announced:
                announced.append(True)
                con.print(f"scoring {loaded.sequence.num_frames} frames ({loaded.sequence.duration_s:.1f} s) "
                          f"of {_escape(str(input))} ...")  # fmt: skip
            bar_scoring(done, total)

        return transcribe_file(input, loader=loader, read_progress=bar.callback("reading video"),
                               score_progress=on_scoring, started=started, **kw)  # fmt: skip


def _report(con: Any, res: Any, input: Path, out: Path, meta_path: Path, quiet: bool) -> None:
    """Gaps (always: they change what the transcript means), notes and the one-line summary on stderr."""
    for g in res.gaps[:20]:
        con.print(f"[yellow]warning:[/] {_escape(str(input))}: {_escape(g.describe())}" + ("" if g.masked else " (bridged)"))
    if len(res.gaps) > 20:
        con.print(f"[yellow]warning:[/] ... and {len(res.gaps) - 20} more gaps (see {_escape(str(meta_path))})")
    if quiet:
        return
    loaded, tr = res.input, res.transcript
    for n in loaded.notes:
        con.print(f"note: {_escape(n)}")
    seq = loaded.sequence
    took = res.timings["total"]
    con.print(
        f"{_escape(tr.id)}: {seq.num_frames} frames ({seq.duration_s:.1f} s, {loaded.kind}) -> "
        f"{len(tr.events)} micro-gesture(s) in {took:.1f} s ({res.meta['realtime_factor']:g}x real time); "
        f"wrote {_escape(str(out))}, {_escape(str(meta_path))}"
    )


def tune_segmentation_cmd(
    scores: Path = typer.Argument(..., help="per-frame scores (.npz from 'transcribe --scores'), or a directory of them"),
    gt: Path = typer.Argument(..., help="ground-truth transcript JSON, or a directory of them (paired by name or id)"),
    checkpoint: Optional[Path] = typer.Option(
        None, "--checkpoint", "-c", help="start from this checkpoint's parameters (default: the bundled tiny-real298)"
    ),
    tiou: float = typer.Option(0.3, "--tiou", help="objective: F1 at this tIoU (labels must match)"),
    write: bool = typer.Option(False, "--write", help="store the tuned parameters in the checkpoint's config.json"),
    describe: Optional[str] = typer.Option(None, "--describe", help="with --write: how the validation data was made"),
    restarts: int = typer.Option(4, "--restarts", min=0, help="extra coordinate-ascent starts (seeded random grid points)"),
    json_out: Optional[Path] = output_option(None, "--json", help="also write the search result as JSON"),
) -> None:
    """Choose a checkpoint's segmentation thresholds on validation recordings with ground truth.

    Use recordings that are *not* the ones you report results on."""
    from rich.markup import escape

    from mgreason.recognizer.checkpoint import read_checkpoint_config
    from mgreason.recognizer.inference import bundled_checkpoint_path
    from mgreason.transcript_metrics import evaluate
    from mgreason.transcribe.tuning import (
        checkpoint_segmentation,
        load_scored_recordings,
        segment_recordings,
        tune_segmentation,
        write_checkpoint_segmentation,
    )

    if not 0.0 < tiou <= 1.0:
        raise DataError(f"--tiou must be in (0, 1], got {tiou}", field="tiou")
    ckpt = checkpoint or bundled_checkpoint_path()
    cfg = read_checkpoint_config(ckpt)
    con = _console()
    recs, labels, warns = load_scored_recordings(scores, gt)
    for w in warns:
        con.print(f"[yellow]warning:[/] {escape(w)}")
    if list(cfg.get("labels", [])) != labels:
        raise DataError("the scores were not computed with this checkpoint (label lists differ)", file=ckpt)
    bg = labels.index("background") if "background" in labels else None
    start = checkpoint_segmentation(cfg, Path(ckpt) / "config.json")
    t0 = time.perf_counter()
    res = tune_segmentation(recs, labels, background=bg, start=start, tiou=tiou, restarts=restarts)
    took = time.perf_counter() - t0
    n_gt = sum(len(r.gt.events) for r in recs)
    for name, prm in (("start", res.start_params), ("tuned", res.params)):
        ev = evaluate(segment_recordings(recs, labels, bg, prm), thresholds=(0.1, 0.3, 0.5))
        f1s = "  ".join(f"F1@{t:g} {ev.f1[t]['f1']:.3f}" for t in (0.1, 0.3, 0.5))
        print(f"{name:>5}: {f1s}  mAP@0.3 {ev.map[0.3]:.3f}  ({ev.f1[0.3]['n_pred']} predicted / {n_gt} true)")
        print(f"       {prm}")
    print(f"{len(recs)} recording(s); {res.evaluations} settings tried in {res.rounds} round(s), {took:.1f} s")
    if json_out is not None:
        atomic_write_text(json_out, json.dumps(res.to_dict(), indent=2) + "\n")
    if write:
        tuned_on = {"recordings": sorted(r.id for r in recs), "events": n_gt, "description": describe}
        path = write_checkpoint_segmentation(ckpt, res, tuned_on)
        con.print(f"wrote the tuned parameters to {escape(str(path))}")


# --------------------------------------------------------------------------- train
def _parse_sets(sets: Optional[List[str]]) -> dict:
    import yaml

    from mgreason.configio import load_yaml_text

    out = {}
    for s in sets or []:
        if "=" not in s:
            raise MGReasonError(f"expected KEY=VALUE, got {s!r}", field="--set")
        k, v = s.split("=", 1)
        try:
            out[k.strip()] = load_yaml_text(v)  # the same bounded safe loader as config files
        except (yaml.YAMLError, ValueError):
            out[k.strip()] = v
    return out


def _check_run_dir(run_dir: Path, force: bool) -> None:
    """Before training: the run directory is writable, and holds no earlier run unless ``--force``."""
    from mgreason.errors import set_interrupt_note
    from mgreason.fileio import require_writable

    require_writable(run_dir, directory=True)
    if run_dir.is_dir() and any(run_dir.iterdir()) and not force:
        raise MGReasonError(
            "holds an earlier run (checkpoints, metrics); choose another --out, or --force to overwrite it",
            file=run_dir,
            field="--out",
        )
    set_interrupt_note(
        f"{run_dir} keeps the best checkpoint so far (best/) and the finished epochs' metrics.jsonl; "
        "training does not resume: rerun with --force to start again"
    )


def train_cmd(
    config: Path = typer.Argument(..., help="training config YAML (see configs/recognizer/)"),
    out: Optional[Path] = output_option(
        None, "--out", "-o", directory=True, help="output directory (default: the config's out_dir)"
    ),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="override optim.epochs"),
    device: Optional[str] = typer.Option(None, "--device", help="auto | cpu | cuda | cuda:N"),
    seed: Optional[int] = typer.Option(None, "--seed", help="override the seed"),
    data: Optional[Path] = typer.Option(
        None, "--data", help="override data.path: a MiGA iMiGUE or SMG release folder, PYSKL .pkl, ST-GCN directory, "
        "OpenPose directory"
    ),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="override any key, e.g. --set optim.lr=0.01"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
    force: bool = typer.Option(False, "--force", help="overwrite an earlier run in the output directory"),
) -> None:
    """Train a recogniser; keeps the best checkpoint (a directory) under the output directory."""
    from mgreason.recognizer.runtime import passive_omp

    passive_omp()
    from rich.console import Console

    from mgreason.recognizer.config import load_config

    console = Console(stderr=True, soft_wrap=True)  # log lines are never hard-wrapped in non-TTY output
    overrides = _parse_sets(set_)
    if epochs is not None:
        overrides["optim.epochs"] = epochs
    if device is not None:
        overrides["optim.device"] = device
    if seed is not None:
        overrides["seed"] = seed
    if out is not None:
        overrides["out_dir"] = str(out)
    if data is not None:
        overrides["data.path"] = str(data.resolve())
    cfg = load_config(config, overrides)
    _check_run_dir(cfg.resolved_out_dir(), force)
    if data is not None and cfg.data.source == "synth":
        cfg.data.source = "auto"  # --data names real data: read it whatever its format
    from mgreason.recognizer.data import load_data

    bundle = load_data(cfg)  # bad data stop here, before any progress output (one line, exit code 2)
    from mgreason.transcribe.finish import train_and_finish

    res = train_and_finish(
        cfg, data=bundle, progress=not quiet and sys.stderr.isatty(), log=lambda s: console.print(s, highlight=False)
    )
    summary = {
        "out_dir": str(res.out_dir),
        "best_checkpoint": str(res.out_dir / "best"),
        "best_epoch": res.best_epoch,
        "test_top1": round(res.test_top1, 4),
        "test_top5": round(res.test_top5, 4),
        "seconds": round(res.seconds, 1),
    }
    print(json.dumps(summary))


def register(app: typer.Typer) -> None:
    app.command("transcribe")(transcribe_cmd)
    app.command("tune-segmentation")(tune_segmentation_cmd)
    app.command("train")(train_cmd)
