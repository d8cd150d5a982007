"""``mgreason eval-transcripts``, ``mgreason plot`` and ``mgreason show-clip`` (registered by :mod:`mgreason.cli`).

matplotlib, Pillow and the skeleton readers are imported inside the commands, so loading the CLI
stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from mgreason.errors import DataError
from mgreason.fileio import atomic_write_text, output_option
from mgreason.transcribe.input_options import EntryOption, InputFpsOption, LayoutOption, PersonOption
from mgreason.transcribe.video.options import (
    DEFAULT_HANDS,
    DEFAULT_MAX_SIDE,
    DEFAULT_POSE_FPS,
    DEFAULT_VIDEO_MODEL,
    VIDEO_KINDS,
    PoseFpsOption,
    VideoHandsOption,
    VideoMaxSideOption,
    VideoModelOption,
    VideoReaderThreadOption,
    video_options,
)

__all__ = ["register", "eval_transcripts_cmd", "plot_cmd", "show_clip_cmd"]


def plot_cmd(
    transcript: Path = typer.Argument(..., help="transcript JSON (e.g. from 'mgreason transcribe')"),
    out: Path = output_option(..., "--out", "-o", help="figure to write: .png, .svg or .html"),
    gt: Optional[Path] = typer.Option(None, "--gt", help="ground-truth transcript JSON: annotated events in paired lanes"),
    scores: Optional[Path] = typer.Option(
        None, "--scores", help="per-frame class probabilities (.npz from 'transcribe --scores'): a heat strip"
    ),
    tiou: float = typer.Option(0.3, "--tiou", help="with --gt: tIoU at which matches, false alarms and misses are marked"),
    start: Optional[float] = typer.Option(None, "--from", help="zoom: start of the shown range (s)"),
    end: Optional[float] = typer.Option(None, "--to", help="zoom: end of the shown range (s)"),
    title: Optional[str] = typer.Option(None, "--title", help="figure title (default: the transcript id)"),
    dpi: int = typer.Option(100, "--dpi", min=30, max=600, help="PNG resolution"),
) -> None:
    """Timeline of a transcript: one lane per class, bars shaded by confidence, annotations and matches."""
    from mgreason.viz.timeline import write_timeline

    path, plan = write_timeline(
        transcript, out, gt=gt, scores=scores, tiou=tiou, start_s=start, end_s=end, title=title, dpi=dpi
    )
    c = plan.counts
    line = f"{plan.id}: {len(plan.lanes)} lane(s), {c['pred']} predicted"
    if plan.has_gt:
        line += f", {c['gt']} annotated (tIoU {plan.tiou:g}: {c['match']} matched, {c['false_alarm']} false alarms, {c['miss']} missed)"
    print(f"{line}; wrote {path}")


def show_clip_cmd(
    input: Path = typer.Argument(
        ..., help="OpenPose JSON directory, .npy/.npz keypoints, a PYSKL .pkl (with --entry), a video file, an "
        "animated .gif or a directory of frame images"
    ),
    at: float = typer.Option(..., "--at", help="the moment to show (seconds from the start)"),
    out: Path = output_option(..., "--out", "-o", help=".png (contact sheet, the cheap default), .gif or .mp4"),
    span: float = typer.Option(4.0, "--span", help="seconds shown around --at"),
    transcript: Optional[Path] = typer.Option(
        None, "--transcript", "-t", help="transcript JSON: caption every frame with its active event"
    ),
    frames: int = typer.Option(8, "--frames", min=1, max=64, help=".png: number of panels"),
    clip_fps: float = typer.Option(12.5, "--clip-fps", help=".gif/.mp4: frames per second (plays in real time)"),
    size: int = typer.Option(320, "--size", min=64, max=2048, help=".gif/.mp4: width in pixels"),
    fps: InputFpsOption = None,
    layout: LayoutOption = None,
    entry: EntryOption = None,
    person: PersonOption = 0,
    video_model: VideoModelOption = DEFAULT_VIDEO_MODEL,
    pose_fps: PoseFpsOption = DEFAULT_POSE_FPS,
    video_max_side: VideoMaxSideOption = DEFAULT_MAX_SIDE,
    video_reader_thread: VideoReaderThreadOption = True,
    video_hands: VideoHandsOption = DEFAULT_HANDS,
) -> None:
    """The skeleton around a moment, drawn with its layout's bones, captioned with the active event."""
    from mgreason.viz.clip import CLIP_FORMATS, caption_at, check_transcript_classes, load_clip, write_clip
    from mgreason.viz.timeline import read_transcript

    if out.suffix.lower() not in CLIP_FORMATS:
        raise DataError(
            f"unsupported output {out.suffix or '(no suffix)'}; use {', '.join(CLIP_FORMATS)}", file=out, field="--out"
        )
    tr = None
    if transcript is not None:
        tr = read_transcript(transcript)
        check_transcript_classes(tr, str(transcript))
    from mgreason.transcribe.inputs import input_kind

    vopts = None
    if input.exists() and input_kind(input) in VIDEO_KINDS:  # checked before the video is read
        vopts = video_options(video_model, pose_fps, video_max_side, video_reader_thread, video_hands)
    clip = load_clip(input, at=at, span=span, fps=fps, layout=layout, entry=entry, person=person,
                     video_model=video_model, video_options=vopts)  # fmt: skip
    path = write_clip(clip, out, tr, n=frames, out_fps=clip_fps, size=size)
    cap = caption_at(tr, clip.at_s) if tr is not None else ""
    print(
        f"{clip.id}: {clip.start_s:.2f}-{clip.end_s:.2f} s ({len(clip.frames)} frames, {clip.sequence.layout})"
        + (f"; at {clip.at_s:g} s: {cap or 'no event'}" if tr is not None else "")
        + f"; wrote {path}"
    )


def _parse_floats(text: str, field: str) -> list[float]:
    try:
        vals = [float(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise DataError(f"expected comma-separated numbers, got {text!r}", field=field) from None
    if not vals:
        raise DataError("no values given", field=field)
    return vals


def eval_transcripts_cmd(
    pred: Path = typer.Argument(..., help="predicted transcript JSON, or a directory of them"),
    gt: Path = typer.Argument(..., help="ground-truth transcript JSON, or a directory of them"),
    thresholds: str = typer.Option("0.1,0.3,0.5", "--tiou", help="tIoU thresholds for F1 and mAP"),
    json_out: Optional[Path] = output_option(None, "--json", help="also write all numbers as JSON ('-' = stdout)"),
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
    from rich.console import Console
    from rich.markup import escape

    from mgreason.transcript_metrics import evaluate_paths

    ths = _parse_floats(thresholds, "--tiou")
    res = evaluate_paths(pred, gt, ths, clip_to_pred=clip_to_pred)
    con = Console(stderr=True, highlight=False, soft_wrap=True)
    for w in res.warnings:
        con.print(f"[yellow]warning:[/] {escape(w)}")
    if plot is not None:
        from mgreason.transcript_metrics import clip_to_prediction, load_pairs
        from mgreason.viz.timeline import write_eval_plots

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


def register(app: typer.Typer) -> None:
    app.command("eval-transcripts")(eval_transcripts_cmd)
    app.command("plot")(plot_cmd)
    app.command("show-clip")(show_clip_cmd)
