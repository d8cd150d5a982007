"""Skeleton clips around a moment: a still contact sheet (PNG), a GIF or an MP4.

The skeleton comes from any input ``mgreason transcribe`` reads (OpenPose JSON directories,
``.npz``/``.npy``, PYSKL pickles, video through MediaPipe) and is drawn with its layout's bones:
left side blue, right side orange, the rest dark, face points light grey. With a transcript, each
frame is captioned with the event(s) active at that moment (label and confidence).

The contact sheet is drawn with matplotlib (every panel's bones are one ``LineCollection`` with
``gid='bones'``, its caption a text with ``gid='caption'``); GIF frames are drawn with Pillow,
MP4 frames too and written with OpenCV (the ``video`` extra).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from mgreason.errors import DataError
from mgreason.skeleton.layouts import Layout
from mgreason.skeleton.sequence import SkeletonSequence
from mgreason.transcript import MGEvent, Transcript, format_time

__all__ = [
    "CLIP_FORMATS",
    "Clip",
    "load_clip",
    "active_events",
    "caption_at",
    "joint_colors",
    "contact_sheet",
    "render_frames",
    "write_clip",
]

CLIP_FORMATS = (".png", ".gif", ".mp4")
LEFT, RIGHT, MID, FACE = "#2c7bb6", "#e66101", "#333333", "#b0b0b0"


@dataclass
class Clip:
    """The frames of a recording around a moment, ready to draw."""

    sequence: SkeletonSequence  # the whole recording (or, for video, up to the end of the window)
    start_s: float
    end_s: float
    at_s: float
    id: str
    kind: str
    y_down: bool = True

    @property
    def frames(self) -> np.ndarray:
        """Frame indices whose time lies in [start_s, end_s) (at least one)."""
        fps = self.sequence.fps
        a = min(self.sequence.num_frames - 1, int(math.ceil(self.start_s * fps - 1e-6)))
        b = min(self.sequence.num_frames, max(a + 1, int(math.ceil(self.end_s * fps - 1e-6))))
        return np.arange(a, b)


def _video_fps(path: Path, kind: str, fps: Optional[float]) -> Optional[float]:
    """The frame rate the video reader will use for ``path`` (None: unknown)."""
    if kind == "frames":
        from mgreason.transcribe.video.options import DEFAULT_FRAMES_FPS

        return fps or DEFAULT_FRAMES_FPS
    try:
        from mgreason.transcribe.video import require_video_backend

        _mp, cv2 = require_video_backend()
    except Exception:
        return None
    cap = cv2.VideoCapture(str(path))
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    finally:
        cap.release()
    return fps if fps > 0 else None


def load_clip(
    path: str | Path,
    *,
    at: float,
    span: float = 4.0,
    fps: Optional[float] = None,
    layout: Optional[str] = None,
    entry: Optional[str] = None,
    person: int = 0,
    video_model: str = "holistic",
    video_options: Optional[dict[str, Any]] = None,
) -> Clip:
    """Read ``path`` (any ``transcribe`` input) and choose the window ``at ± span/2`` (clipped to the
    recording). A video is read only up to the end of the window, with the reader's ``video_options``
    (``transcribe``'s; see :func:`mgreason.transcribe.video.options.video_options`)."""
    from mgreason.transcribe.inputs import input_kind, load_input
    from mgreason.transcribe.video.options import VIDEO_KINDS

    path = Path(path)
    if not (math.isfinite(at)):
        raise DataError(f"--at must be a number of seconds, got {at}", field="--at")
    if not (math.isfinite(span) and span > 0):
        raise DataError(f"--span must be a positive number of seconds, got {span}", field="--span")
    if at < 0:
        raise DataError(f"{at:g} s is outside the recording (times start at 0)", field="--at")
    if not path.exists():
        raise DataError("no such file or directory", file=path)
    kind = input_kind(path)
    max_frames = None
    video = kind in VIDEO_KINDS
    if video:
        vfps = _video_fps(path, kind, fps)
        if vfps is not None:
            max_frames = int(math.ceil((at + span / 2) * vfps)) + 2
    loaded = load_input(path, fps=fps, layout=layout, entry=entry, person=person, video_model=video_model,
                        max_frames=max_frames, video_options=video_options if video else None)  # fmt: skip
    seq = loaded.sequence
    if seq.num_frames == 0:
        raise DataError("empty recording: no frames", file=path)
    dur = seq.duration_s  # a video read up to the window's end is at least at + span/2 long, unless it ends first
    if at > dur + 1e-9:
        raise DataError(f"{at:g} s is outside the recording (0-{dur:.2f} s)", field="--at")
    a, b = max(0.0, at - span / 2), min(dur, at + span / 2)
    clip = Clip(seq, a, b, min(at, dur), loaded.id, loaded.kind, y_down=seq.layout != "ntu25")
    if not seq.valid[clip.frames].any():
        raise DataError(f"nobody detected between {a:.2f} and {b:.2f} s", file=path, field="--at")
    return clip


# --------------------------------------------------------------------------- captions
def active_events(transcript: Optional[Transcript], t: float) -> list[MGEvent]:
    """Events of ``transcript`` that cover time ``t`` (start <= t < end)."""
    if transcript is None:
        return []
    return [e for e in transcript.events if e.start_s <= t < e.end_s or (e.start_s == e.end_s == t)]


def caption_at(transcript: Optional[Transcript], t: float) -> str:
    """``"touching or scratching head (0.83)"``, several joined with ``" + "``; ``""`` when none."""
    parts = []
    for e in active_events(transcript, t):
        conf = f" ({e.confidence:.2f})" if e.source != "annotation" else ""
        parts.append(f"{e.label}{conf}")
    return " + ".join(parts)


def check_transcript_classes(transcript: Transcript, where: str) -> None:
    from mgreason.viz.timeline import _class_index, _taxonomy

    _class_index(transcript, _taxonomy(transcript), where)


# --------------------------------------------------------------------------- geometry
def joint_colors(layout: Layout) -> list[str]:
    out = []
    for name in layout.joints:
        toks = name.lower().replace("-", "_").split("_")
        if "face" in toks:
            out.append(FACE)
        elif "left" in toks:
            out.append(LEFT)
        elif "right" in toks:
            out.append(RIGHT)
        else:
            out.append(MID)
    return out


def _bone_colors(layout: Layout, jc: Sequence[str]) -> list[str]:
    out = []
    for i, j in layout.edges:
        a, b = jc[i], jc[j]
        out.append(a if a == b else (FACE if FACE in (a, b) else (a if a != MID else b)))
    return out


def _xy(clip: Clip) -> tuple[np.ndarray, np.ndarray]:
    """(T, V, 2) plotting coordinates (y up) and (T, V) validity."""
    seq = clip.sequence
    xy = seq.coords[..., :2].astype(np.float64).copy()
    if clip.y_down:
        xy[..., 1] = -xy[..., 1]
    return xy, seq.valid


def _bounds(clip: Clip) -> tuple[float, float, float, float]:
    xy, valid = _xy(clip)
    fr = clip.frames
    pts = xy[fr][valid[fr]]
    lo = np.percentile(pts, 0.5, axis=0)
    hi = np.percentile(pts, 99.5, axis=0)
    size = max(float(np.max(hi - lo)), 1e-6)
    pad = 0.08 * size
    return float(lo[0] - pad), float(hi[0] + pad), float(lo[1] - pad), float(hi[1] + pad)


def _segments(xy: np.ndarray, valid: np.ndarray, layout: Layout, bone_colors: Sequence[str]) -> tuple[list, list]:
    segs, cols = [], []
    for (i, j), c in zip(layout.edges, bone_colors):
        if valid[i] and valid[j]:
            segs.append([tuple(xy[i]), tuple(xy[j])])
            cols.append(c)
    return segs, cols


def _pick(clip: Clip, n: int) -> np.ndarray:
    fr = clip.frames
    if n >= len(fr):
        return fr
    return fr[np.unique(np.round(np.linspace(0, len(fr) - 1, n)).astype(int))]


# --------------------------------------------------------------------------- contact sheet
def contact_sheet(clip: Clip, transcript: Optional[Transcript] = None, *, n: int = 8, cols: Optional[int] = None):
    """A still: ``n`` frames evenly spaced over the window, one panel each (matplotlib Figure)."""
    from mgreason.viz.timeline import _plt

    plt = _plt()
    from matplotlib.collections import LineCollection

    if n < 1:
        raise DataError(f"--frames must be at least 1, got {n}", field="--frames")
    picks = _pick(clip, n)
    cols = cols or min(len(picks), 4)
    rows = int(math.ceil(len(picks) / cols))
    x0, x1, y0, y1 = _bounds(clip)
    aspect = (y1 - y0) / max(x1 - x0, 1e-9)
    pw = 2.3
    ph = float(np.clip(pw * aspect, 1.4, 4.0))
    fig, axes = plt.subplots(rows, cols, figsize=(pw * cols, (ph + 0.45) * rows + 0.6), squeeze=False,
                             layout="constrained")  # fmt: skip
    lay = clip.sequence.layout_obj
    jc = joint_colors(lay)
    bc = _bone_colors(lay, jc)
    xy, valid = _xy(clip)
    fps = clip.sequence.fps
    t0 = float(clip.sequence.meta.get("start_s", 0.0))
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= len(picks):
            ax.set_axis_off()
            continue
        f = int(picks[k])
        t = t0 + f / fps
        segs, colors = _segments(xy[f], valid[f], lay, bc)
        lc = LineCollection(segs, colors=colors, linewidths=1.4, gid="bones")
        ax.add_collection(lc)
        v = valid[f]
        ax.scatter(xy[f][v, 0], xy[f][v, 1], s=3, c=[jc[i] for i in np.flatnonzero(v)], zorder=3, gid="joints")
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal", adjustable="box")
        cap = caption_at(transcript, t)
        ax.set_title(format_time(t), fontsize=8, gid="time")
        ax.text(0.5, -0.02, cap or ("(no person)" if not v.any() else ""), transform=ax.transAxes, ha="center",
                va="top", fontsize=6.5, wrap=True, gid="caption")  # fmt: skip
        edge = "#d7191c" if cap else "0.7"
        for sp in ax.spines.values():
            sp.set_edgecolor(edge)
            sp.set_linewidth(1.6 if cap else 0.8)
    at_cap = caption_at(transcript, clip.at_s)
    head = f"{clip.id} ({clip.kind}, {lay.name}): {format_time(clip.start_s)}-{format_time(clip.end_s)}"
    if transcript is not None:
        head += f"; at {format_time(clip.at_s)}: {at_cap or 'no event'}"
    fig.suptitle(head, fontsize=9)
    return fig


# --------------------------------------------------------------------------- animation
def render_frames(clip: Clip, transcript: Optional[Transcript] = None, *, out_fps: float = 12.5, size: int = 320):
    """Pillow RGB images, one per output frame (every k-th input frame so the clip plays in real time
    at about ``out_fps``), each with a caption band: time and active event(s)."""
    from PIL import Image, ImageDraw, ImageFont

    if not (math.isfinite(out_fps) and out_fps > 0):
        raise DataError(f"--clip-fps must be positive, got {out_fps}", field="--clip-fps")
    if size < 64:
        raise DataError(f"--size must be at least 64 pixels, got {size}", field="--size")
    fps = clip.sequence.fps
    step = max(1, int(round(fps / out_fps)))
    frames = clip.frames[::step]
    x0, x1, y0, y1 = _bounds(clip)
    w = size
    h = int(round(size * float(np.clip((y1 - y0) / max(x1 - x0, 1e-9), 0.6, 1.6))))
    band = max(30, size // 9)
    scale = min((w - 8) / max(x1 - x0, 1e-9), (h - 8) / max(y1 - y0, 1e-9))
    ox = (w - scale * (x1 - x0)) / 2
    oy = (h - scale * (y1 - y0)) / 2
    lay = clip.sequence.layout_obj
    jc = joint_colors(lay)
    bc = _bone_colors(lay, jc)
    xy, valid = _xy(clip)
    t0 = float(clip.sequence.meta.get("start_s", 0.0))
    try:
        font = ImageFont.load_default(size=max(10, size // 28))
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()

    def px(p: np.ndarray) -> tuple[float, float]:
        return (ox + (p[0] - x0) * scale, h - (oy + (p[1] - y0) * scale))

    images = []
    for f in frames:
        t = t0 + int(f) / fps
        img = Image.new("RGB", (w, h + band), "white")
        d = ImageDraw.Draw(img)
        for (i, j), c in zip(lay.edges, bc):
            if valid[f, i] and valid[f, j]:
                d.line([px(xy[f, i]), px(xy[f, j])], fill=c, width=2 if c != FACE else 1)
        for i in np.flatnonzero(valid[f]):
            x, y = px(xy[f, i])
            r = 1 if jc[i] == FACE else 2
            d.ellipse([x - r, y - r, x + r, y + r], fill=jc[i])
        cap = caption_at(transcript, t)
        d.rectangle([0, h, w, h + band], fill="#fde0dd" if cap else "#f0f0f0")
        d.text((6, h + 3), format_time(t), fill="black", font=font)
        if cap:
            d.text((6, h + 3 + band // 2), cap[: max(10, w // 6)], fill="#a50f15", font=font)
        elif not valid[f].any():
            d.text((6, h + 3 + band // 2), "(no person)", fill="#666666", font=font)
        images.append(img)
    return images, fps / step


def write_clip(
    clip: Clip,
    out: str | Path,
    transcript: Optional[Transcript] = None,
    *,
    n: int = 8,
    out_fps: float = 12.5,
    size: int = 320,
    dpi: int = 100,
) -> Path:
    """Write the clip as ``.png`` (contact sheet), ``.gif`` (Pillow) or ``.mp4`` (OpenCV)."""
    out = Path(out)
    suf = out.suffix.lower()
    if suf not in CLIP_FORMATS:
        raise DataError(f"unsupported output {suf or '(no suffix)'}; use {', '.join(CLIP_FORMATS)}", file=out, field="--out")
    if out.exists() and out.is_dir():
        raise DataError("--out must be a file path, not a directory", file=out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if suf == ".png":
        from mgreason.viz.timeline import save_figure

        return save_figure(contact_sheet(clip, transcript, n=n), out, dpi=dpi)
    if suf == ".mp4":
        try:
            import cv2  # noqa: F401
        except ImportError:
            raise DataError(
                "writing .mp4 needs OpenCV (pip install -e '.[video]'); write a .gif or .png instead", file=out, field="--out"
            ) from None
    images, play_fps = render_frames(clip, transcript, out_fps=out_fps, size=size)
    if suf == ".gif":
        pal = [im.convert("P", palette=1, colors=32) for im in images]  # 1 = Image.Palette.ADAPTIVE
        pal[0].save(out, save_all=True, append_images=pal[1:], duration=int(round(1000 / play_fps)), loop=0,
                    optimize=True, disposal=1)  # fmt: skip
        return out
    import cv2

    w, h = images[0].size
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), float(play_fps), (w, h))
    if not writer.isOpened():
        raise DataError("OpenCV cannot write this .mp4 (no mp4v encoder)", file=out, field="--out")
    try:
        for im in images:
            writer.write(np.asarray(im)[:, :, ::-1].copy())
    finally:
        writer.release()
    return out
