"""``mgreason plot`` and ``mgreason show-clip`` (registered by :mod:`mgreason.cli`).

matplotlib, Pillow and the skeleton readers are imported inside the commands, so loading the CLI
stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mgreason.transcribe.video.options import (
    DEFAULT_HANDS,
    DEFAULT_MAX_SIDE,
    DEFAULT_POSE_FPS,
    DEFAULT_VIDEO_MODEL,
    PoseFpsOption,
    VideoHandsOption,
    VideoMaxSideOption,
    VideoModelOption,
    VideoReaderThreadOption,
    video_options,
)

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("plot")
    def plot_cmd(
        transcript: Path = typer.Argument(..., help="transcript JSON (e.g. from 'mgreason transcribe')"),
        out: Path = typer.Option(..., "--out", "-o", help="figure to write: .png, .svg or .html"),
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

    @app.command("show-clip")
    def show_clip_cmd(
        input: Path = typer.Argument(
            ..., help="OpenPose JSON directory, .npy/.npz keypoints, a PYSKL .pkl (with --entry) or a video file"
        ),
        at: float = typer.Option(..., "--at", help="the moment to show (seconds from the start)"),
        out: Path = typer.Option(..., "--out", "-o", help=".png (contact sheet, the cheap default), .gif or .mp4"),
        span: float = typer.Option(4.0, "--span", help="seconds shown around --at"),
        transcript: Optional[Path] = typer.Option(
            None, "--transcript", "-t", help="transcript JSON: caption every frame with its active event"
        ),
        frames: int = typer.Option(8, "--frames", min=1, max=64, help=".png: number of panels"),
        clip_fps: float = typer.Option(12.5, "--clip-fps", help=".gif/.mp4: frames per second (plays in real time)"),
        size: int = typer.Option(320, "--size", min=64, max=2048, help=".gif/.mp4: width in pixels"),
        fps: Optional[float] = typer.Option(None, "--fps", help="frame rate of skeleton input without one (default 25)"),
        layout: Optional[str] = typer.Option(None, "--layout", help="joint layout of .npy/.npz/.pkl input, e.g. imigue22"),
        entry: Optional[str] = typer.Option(None, "--entry", help="PYSKL pickle: the annotation's frame_dir or index"),
        person: int = typer.Option(0, "--person", min=0, help="person index of multi-person arrays / PYSKL entries"),
        video_model: VideoModelOption = DEFAULT_VIDEO_MODEL,
        pose_fps: PoseFpsOption = DEFAULT_POSE_FPS,
        video_max_side: VideoMaxSideOption = DEFAULT_MAX_SIDE,
        video_reader_thread: VideoReaderThreadOption = True,
        video_hands: VideoHandsOption = DEFAULT_HANDS,
    ) -> None:
        """The skeleton around a moment, drawn with its layout's bones, captioned with the active event."""
        from mgreason.errors import DataError
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
        if input.exists() and input_kind(input) == "video":  # checked before the video is read
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
