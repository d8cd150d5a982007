"""``mgreason transcribe`` and ``mgreason eval-transcripts`` (registered by :mod:`mgreason.cli`).

Heavy modules (torch, MediaPipe) are imported inside the commands so ``mgreason --help`` stays fast.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Optional

import typer

from mgreason.errors import DataError
from mgreason.fileio import atomic_path, atomic_write_text
from mgreason.transcribe.video_options import (
    DEFAULT_HANDS,
    DEFAULT_MAX_SIDE,
    DEFAULT_POSE_FPS,
    DEFAULT_VIDEO_MODEL,
    PoseFpsOption,
    VideoHandsOption,
    VideoMaxSideOption,
    VideoModelOption,
    VideoReaderThreadOption,
)
from mgreason.transcribe.video_options import video_options as video_options_from

__all__ = ["register"]


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


def _parse_floats(text: str, field: str) -> list[float]:
    try:
        vals = [float(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise DataError(f"expected comma-separated numbers, got {text!r}", field=field) from None
    if not vals:
        raise DataError("no values given", field=field)
    return vals


def register(app: typer.Typer) -> None:
    @app.command("transcribe")
    def transcribe_cmd(
        input: Path = typer.Argument(
            ..., help="OpenPose JSON directory, .npy/.npz keypoints, a PYSKL .pkl (with --entry) or a video file"
        ),
        out: Path = typer.Option(..., "--out", "-o", help="transcript JSON to write (metadata goes to <out>.meta.json)"),
        checkpoint: Optional[Path] = typer.Option(
            None, "--checkpoint", "-c", help="recognizer checkpoint directory (default: the bundled tiny-real298)"
        ),
        fps: Optional[float] = typer.Option(None, "--fps", help="frame rate of skeleton input without one (default 25)"),
        layout: Optional[str] = typer.Option(None, "--layout", help="joint layout of .npy/.npz/.pkl input, e.g. imigue22"),
        entry: Optional[str] = typer.Option(None, "--entry", help="PYSKL pickle: the annotation's frame_dir or index"),
        person: int = typer.Option(0, "--person", min=0, help="person index of multi-person arrays / PYSKL entries"),
        video_model: VideoModelOption = DEFAULT_VIDEO_MODEL,
        pose_fps: PoseFpsOption = DEFAULT_POSE_FPS,
        video_max_side: VideoMaxSideOption = DEFAULT_MAX_SIDE,
        video_reader_thread: VideoReaderThreadOption = True,
        video_hands: VideoHandsOption = DEFAULT_HANDS,
        text: Optional[str] = typer.Option(None, "--text", help="also write the text rendering to this file ('-' = stdout)"),
        scores: Optional[Path] = typer.Option(None, "--scores", help="also save per-frame class probabilities (.npz)"),
        high: Optional[float] = typer.Option(
            None, "--high", help="hysteresis: a gesture starts where P(not background) >= HIGH [checkpoint's]"
        ),
        low: Optional[float] = typer.Option(None, "--low", help="hysteresis: ... and lasts while it stays >= LOW [checkpoint's]"),
        min_duration: Optional[float] = typer.Option(
            None, "--min-duration", help="drop gestures shorter than this (s) [checkpoint's]"
        ),
        merge_gap: Optional[float] = typer.Option(
            None, "--merge-gap", help="merge same-label gestures closer than this (s) [checkpoint's]"
        ),
        min_label_run: Optional[float] = typer.Option(
            None, "--min-label-run", help="label runs shorter than this (s) inside a gesture are absorbed [checkpoint's]"
        ),
        smooth: Optional[float] = typer.Option(
            None, "--smooth", help="Gaussian smoothing of the scores, sigma in seconds [checkpoint's]"
        ),
        min_gap: float = typer.Option(
            0.5, "--min-gap", help="spans without a person this long (s) are reported and skipped"
        ),
        chunk_s: float = typer.Option(60.0, "--chunk", min=1.0, help="seconds per network pass (memory bound; result unchanged)"),
        threads: Optional[int] = typer.Option(
            None, "--threads", min=1, help="torch CPU threads (default: torch's; 1 is fastest on an oversubscribed CPU)"
        ),
        rid: Optional[str] = typer.Option(None, "--id", help="transcript id (default: the input's name)"),
        max_frames: Optional[int] = typer.Option(None, "--max-frames", min=1, help="only the first N frames"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="no summary on stderr"),
    ) -> None:
        """Recognise micro-gestures in a long recording: a timestamped transcript (source = recognizer)."""
        from mgreason.transcribe.segments import SegmentParams

        con = _console()
        overrides = {k: v for k, v in (("smooth_s", smooth), ("high", high), ("low", low),
                     ("min_duration_s", min_duration), ("merge_gap_s", merge_gap),
                     ("min_label_run_s", min_label_run)) if v is not None}  # fmt: skip
        # checked now, before the model is loaded, against the defaults; applied to the checkpoint's below
        SegmentParams(**{**SegmentParams().to_dict(), "low": 0.0, "high": 1.0, **overrides})
        if out.exists() and out.is_dir():
            raise DataError("--out must be a file path, not a directory", file=out)
        if text not in (None, "-") and Path(text).is_dir():
            raise DataError("--text must be a file path or '-'", file=text)
        if not input.exists():
            raise DataError("no such file or directory", file=input)

        from mgreason.transcribe.inputs import input_kind, load_input

        kind = input_kind(input)  # unsupported inputs fail before the model is loaded
        video_options: dict[str, Any] = {}
        if kind == "video":
            video_options = video_options_from(video_model, pose_fps, video_max_side, video_reader_thread, video_hands)
        from mgreason.recognizer.inference import Recognizer

        from mgreason.transcribe.online import threads as torch_threads
        from mgreason.transcribe.pipeline import meta_path_for, transcribe_input
        from mgreason.transcribe.tuning import checkpoint_segmentation

        from mgreason.errors import set_interrupt_note

        set_interrupt_note(
            f"nothing was written: {out} and its metadata are written only when the whole recording is "
            "transcribed; run the same command again"
        )
        t0 = time.perf_counter()
        rec = Recognizer.load(checkpoint)
        prm = dataclasses.replace(checkpoint_segmentation(rec.config), **overrides)
        with _Bar(con) as bar, torch_threads(threads):
            t1 = time.perf_counter()
            if video_options:  # the video reader's speed options (load_input knows only its defaults)
                from mgreason.transcribe.inputs import LoadedInput
                from mgreason.transcribe.video import read_video

                if layout:
                    raise DataError("video is read as MediaPipe landmarks; drop --layout", field="--layout")
                vseq = read_video(input, max_frames=max_frames, progress=bar.callback("reading video"), **video_options)
                vnotes = [f"--fps ignored for video (the container says {vseq.fps:g} fps)"] if fps is not None else []
                loaded = LoadedInput(vseq, "video", input, input.stem, vnotes)
            else:
                loaded = load_input(
                    input,
                    fps=fps,
                    layout=layout,
                    entry=entry,
                    person=person,
                    video_model=video_model,
                    max_frames=max_frames,
                    progress=bar.callback("reading video"),
                )
            t2 = time.perf_counter()
            bar_scoring = bar.callback("scoring")
            announced: list[bool] = []

            def on_scoring(done: int, total: Optional[int]) -> None:
                # once the first frames are scored (the input passed its checks, so an error stays one line):
                # the sign, in logs and pipes (no progress bar there), that the long part is under way
                if not quiet and not announced:
                    announced.append(True)
                    con.print(f"scoring {loaded.sequence.num_frames} frames ({loaded.sequence.duration_s:.1f} s) "
                              f"of {_escape(str(input))} ...")  # fmt: skip
                bar_scoring(done, total)

            res = transcribe_input(
                rec, loaded, id=rid, params=prm, min_gap_s=min_gap, chunk_s=chunk_s, progress=on_scoring
            )
        t3 = time.perf_counter()
        res.meta["timings_s"].update(
            {"load_model": round(t1 - t0, 3), "read_input": round(t2 - t1, 3), "total": round(t3 - t0, 3)}
        )
        res.meta["realtime_factor"] = round(loaded.sequence.duration_s / max(t3 - t1, 1e-9), 2)
        if "video" in loaded.sequence.meta:
            res.meta["input"]["video"] = loaded.sequence.meta["video"]
        tr = res.transcript
        tr.write(out)
        meta_path = meta_path_for(out)
        atomic_write_text(meta_path, json.dumps(res.meta, indent=2) + "\n")
        rendering = tr.render()
        if text == "-":
            print(rendering)
        elif text is not None:
            atomic_write_text(Path(text), rendering + "\n")
        if scores is not None:
            import numpy as np

            with atomic_path(scores) as tmp_scores:
                np.savez_compressed(
                    tmp_scores,
                    times=res.scores.times.astype(np.float32),
                    probs=res.scores.probs.astype(np.float32),
                    labels=np.array(res.scores.labels),
                    mask=res.mask,
                    fps=np.float64(loaded.sequence.fps),
                )

        from rich.markup import escape

        # gaps are always reported, even with --quiet: they change what the transcript means
        for g in res.gaps[:20]:
            con.print(f"[yellow]warning:[/] {escape(str(input))}: {escape(g.describe())}"
                      + ("" if g.masked else " (bridged)"))  # fmt: skip
        if len(res.gaps) > 20:
            con.print(f"[yellow]warning:[/] ... and {len(res.gaps) - 20} more gaps (see {escape(str(meta_path))})")
        if not quiet:
            for n in loaded.notes:
                con.print(f"note: {escape(n)}")
            seq = loaded.sequence
            con.print(
                f"{escape(tr.id)}: {seq.num_frames} frames ({seq.duration_s:.1f} s, {loaded.kind}) -> "
                f"{len(tr.events)} micro-gesture(s) in {t3 - t1:.1f} s ({res.meta['realtime_factor']:g}x real time); "
                f"wrote {escape(str(out))}, {escape(str(meta_path))}"
            )

    @app.command("eval-transcripts")
    def eval_cmd(
        pred: Path = typer.Argument(..., help="predicted transcript JSON, or a directory of them"),
        gt: Path = typer.Argument(..., help="ground-truth transcript JSON, or a directory of them"),
        thresholds: str = typer.Option("0.1,0.3,0.5", "--tiou", help="tIoU thresholds for F1 and mAP"),
        json_out: Optional[Path] = typer.Option(None, "--json", help="also write all numbers as JSON ('-' = stdout)"),
        plot: Optional[Path] = typer.Option(
            None, "--plot", help="also write each recording's timeline and the class confusion matrix into this directory"
        ),
        plot_tiou: float = typer.Option(0.3, "--plot-tiou", help="--plot: tIoU of the marked matches and the confusion matrix"),
        clip_to_pred: bool = typer.Option(
            False, "--clip-to-pred", help="score only the span each prediction covers (0 .. its duration), e.g. a "
            "transcript of the first 30 s against a whole recording's annotations"
        ),
    ) -> None:
        """F1 and mAP at tIoU thresholds (labels must match), segmental F1@10/25/50 and Edit."""
        from rich.markup import escape

        from mgreason.transcribe.metrics import evaluate_paths

        ths = _parse_floats(thresholds, "--tiou")
        res = evaluate_paths(pred, gt, ths, clip_to_pred=clip_to_pred)
        con = _console()
        for w in res.warnings:
            con.print(f"[yellow]warning:[/] {escape(w)}")
        if plot is not None:
            from mgreason.transcribe.metrics import load_pairs
            from mgreason.viz.timeline import write_eval_plots

            from mgreason.transcribe.metrics import clip_to_prediction

            pairs = load_pairs(pred, gt)[0]
            written = write_eval_plots(clip_to_prediction(pairs) if clip_to_pred else pairs, plot, tiou=plot_tiou)
            con.print(f"wrote {len(written)} file(s) to {escape(str(plot))}/ (timelines, confusion matrix at tIoU {plot_tiou:g})")
        if json_out is not None and str(json_out) == "-":
            print(json.dumps(res.to_dict(), indent=2))
            return
        print(res.render())
        if json_out is not None:
            atomic_write_text(json_out, json.dumps(res.to_dict(), indent=2) + "\n")
        sys.stdout.flush()

    @app.command("tune-segmentation")
    def tune_cmd(
        scores: Path = typer.Argument(..., help="per-frame scores (.npz from 'transcribe --scores'), or a directory of them"),
        gt: Path = typer.Argument(..., help="ground-truth transcript JSON, or a directory of them (paired by name or id)"),
        checkpoint: Optional[Path] = typer.Option(
            None, "--checkpoint", "-c", help="start from this checkpoint's parameters (default: the bundled tiny-real298)"
        ),
        tiou: float = typer.Option(0.3, "--tiou", help="objective: F1 at this tIoU (labels must match)"),
        write: bool = typer.Option(False, "--write", help="store the tuned parameters in the checkpoint's config.json"),
        describe: Optional[str] = typer.Option(None, "--describe", help="with --write: how the validation data was made"),
        restarts: int = typer.Option(4, "--restarts", min=0, help="extra coordinate-ascent starts (seeded random grid points)"),
        json_out: Optional[Path] = typer.Option(None, "--json", help="also write the search result as JSON"),
    ) -> None:
        """Choose a checkpoint's segmentation thresholds on validation recordings with ground truth.

        Use recordings that are *not* the ones you report results on."""
        from rich.markup import escape

        from mgreason.recognizer.checkpoint import read_checkpoint_config
        from mgreason.recognizer.inference import bundled_checkpoint_path
        from mgreason.transcribe.metrics import evaluate
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
        start = checkpoint_segmentation(cfg)
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
