"""Transcript timelines and the class confusion matrix.

A timeline has one lane per gesture class that occurs (canonical taxonomy names, iMiGUE by default,
in taxonomy order). Predicted events are bars shaded by confidence; with a ground truth, annotated
events sit in the lower half of the same lane, and every event is marked at a chosen tIoU with the
matching of :func:`mgreason.transcript_metrics.match_events` (labels must match): a predicted bar
that matches gets a green dot, a false alarm a red cross, a missed annotation an orange triangle.
Per-frame class probabilities (``transcribe --scores``) are drawn as a heat strip under it, one row
per lane plus "any gesture" (1 - P(background)).

Every drawn event carries a ``gid`` (``pred:<i>`` / ``gt:<j>``, the index in the transcript's
sorted events; markers ``match`` / ``false_alarm`` / ``miss``; the heat strip ``scores``), so tests and
tools can find them in the figure, and SVG output keeps them as element ids.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from mgreason.errors import DataError
from mgreason.fileio import atomic_path, atomic_write_text
from mgreason.taxonomy import IMIGUE, Taxonomy, get_taxonomy
from mgreason.transcript import MGEvent, Transcript, format_time

__all__ = [
    "Scores",
    "TimelinePlan",
    "load_scores",
    "read_transcript",
    "plan_timeline",
    "plot_timeline",
    "save_figure",
    "write_timeline",
    "timeline_link",
    "Confusion",
    "confusion_at",
    "plot_confusion",
    "write_eval_plots",
    "FORMATS",
]

FORMATS = (".png", ".svg", ".html")
MISSED = "(missed)"
FALSE_ALARM = "(false alarm)"


# --------------------------------------------------------------------------- inputs
@dataclass
class Scores:
    """Per-frame class probabilities as written by ``mgreason transcribe --scores``."""

    times: np.ndarray  # (T,) seconds
    probs: np.ndarray  # (T, K)
    labels: list[str]
    path: Optional[Path] = None

    @property
    def end_s(self) -> float:
        if len(self.times) < 2:
            return float(self.times[-1]) if len(self.times) else 0.0
        return float(self.times[-1] + (self.times[-1] - self.times[-2]) / 2)


def load_scores(path: str | Path) -> Scores:
    """Read a ``--scores`` ``.npz`` (``times`` (T,), ``probs`` (T, K), ``labels`` (K,)); one-line errors."""
    path = Path(path)
    if not path.is_file():
        raise DataError("no such scores file", file=path)
    try:
        with np.load(path, allow_pickle=False) as z:
            for key in ("times", "probs", "labels"):
                if key not in z.files:
                    raise DataError(f"not a scores file from 'transcribe --scores': no {key!r} array", file=path, field=key)
            times = np.asarray(z["times"], dtype=np.float64)
            probs = np.asarray(z["probs"], dtype=np.float64)
            labels = [str(x) for x in np.asarray(z["labels"]).tolist()]
    except DataError:
        raise
    except Exception as e:  # zip / format errors
        raise DataError(f"cannot read scores: {e}", file=path) from None
    if probs.ndim != 2 or times.ndim != 1 or probs.shape[0] != times.shape[0]:
        raise DataError(f"probs must be (T, K) and times (T,), got {probs.shape} and {times.shape}", file=path, field="probs")
    if probs.shape[1] != len(labels):
        raise DataError(f"probs have {probs.shape[1]} classes but there are {len(labels)} labels", file=path, field="labels")
    if times.size == 0:
        raise DataError("empty recording: the scores have no frames", file=path, field="times")
    if not (np.all(np.isfinite(times)) and np.all(np.diff(times) > 0)):
        raise DataError("times must be finite and increasing", file=path, field="times")
    return Scores(times, probs, labels, path)


def read_transcript(path: str | Path) -> Transcript:
    """A transcript JSON file, with a one-line error naming the file."""
    path = Path(path)
    if not path.is_file():
        raise DataError("no such transcript file", file=path)
    try:
        return Transcript.read(path)
    except OSError as e:
        raise DataError(f"cannot read transcript: {e.strerror or e}", file=path) from None
    except ValueError as e:  # pydantic ValidationError and JSON errors
        first = " ".join(str(e).strip().splitlines()[:3]) or type(e).__name__
        raise DataError(f"not a valid transcript: {first}", file=path) from None


def _taxonomy(*ts: Optional[Transcript]) -> Taxonomy:
    for t in ts:
        if t is not None and t.taxonomy:
            try:
                return get_taxonomy(t.taxonomy)
            except KeyError:
                raise DataError(f"unknown taxonomy {t.taxonomy!r}", file=t.id, field="taxonomy") from None
    return IMIGUE


def _class_index(t: Transcript, tax: Taxonomy, where: str) -> list[tuple[int, str]]:
    """``(label_id, canonical name)`` per event; unknown classes are a one-line error."""
    out = []
    for i, e in enumerate(t.events):
        try:
            c = tax.by_name(e.label)
        except KeyError:
            raise DataError(
                f"unknown class {e.label!r} (not a {tax.name} class name)", file=where, field=f"events[{i}].label"
            ) from None
        out.append((c.label_id, c.name))
    return out


# --------------------------------------------------------------------------- what to draw
@dataclass
class TimelinePlan:
    """Everything a timeline shows, computed without drawing (what the tests check against)."""

    id: str
    start_s: float
    end_s: float
    lanes: list[str]  # class names, top to bottom
    pred: list[tuple[int, MGEvent, int, str]]  # (index in pred.events, event, lane, status) inside the range
    gt: list[tuple[int, MGEvent, int, str]]  # status: "match" | "miss"
    tiou: float
    has_gt: bool
    counts: dict[str, int] = field(default_factory=dict)  # inside the range
    outside: dict[str, int] = field(default_factory=dict)  # events outside the range (not drawn)


def plan_timeline(
    pred: Transcript,
    gt: Optional[Transcript] = None,
    *,
    scores: Optional[Scores] = None,
    tiou: float = 0.3,
    start_s: Optional[float] = None,
    end_s: Optional[float] = None,
    pred_name: str = "transcript",
    gt_name: str = "ground truth",
) -> TimelinePlan:
    from mgreason.transcript_metrics import match_events

    if not 0.0 < tiou <= 1.0:
        raise DataError(f"tIoU must be in (0, 1], got {tiou}", field="--tiou")
    tax = _taxonomy(pred, gt)
    pcls = _class_index(pred, tax, pred_name)
    gcls = _class_index(gt, tax, gt_name) if gt is not None else []
    # the recording: the transcript's duration, else what the events / scores cover
    rec_end = pred.duration_s
    if rec_end is None:
        ends = [e.end_s for e in pred.events] + ([scores.end_s] if scores is not None else [])
        if gt is not None and not ends:
            ends = [e.end_s for e in gt.events]
        rec_end = max(ends) if ends else 0.0
    if rec_end <= 0 and (scores is None):
        if not pred.events and (gt is None or not gt.events):
            raise DataError("nothing to plot: the transcript has no events (and no --gt or --scores was given)", file=pred_name, field="events")
        raise DataError("empty recording: duration_s is 0", file=pred_name, field="duration_s")
    if not pred.events and (gt is None or not gt.events) and scores is None:
        raise DataError("nothing to plot: the transcript has no events (and no --gt or --scores was given)", file=pred_name, field="events")
    a = 0.0 if start_s is None else float(start_s)
    b = rec_end if end_s is None else float(end_s)
    if start_s is not None and not 0.0 <= a < rec_end:
        raise DataError(f"{a:g} s is outside the recording (0-{rec_end:.1f} s)", field="--from")
    if end_s is not None and not (0.0 < b <= rec_end + 1e-6):
        raise DataError(f"{b:g} s is outside the recording (0-{rec_end:.1f} s)", field="--to")
    if b <= a:
        raise DataError(f"empty time range: --from {a:g} s is not before --to {b:g} s", field="--to")

    if gt is not None:
        flags, which = match_events(pred.events, gt.events, tiou)
        gt_hit = {j for j in which if j is not None}
    else:
        flags, gt_hit = [False] * len(pred.events), set()

    def inside(e: MGEvent) -> bool:
        return e.end_s > a and e.start_s < b

    used = sorted(
        {c for (c, _), e in zip(pcls, pred.events) if inside(e)} | {c for (c, _), e in zip(gcls, gt.events if gt else []) if inside(e)}
    )
    if not used and scores is not None:  # no event in view: the classes the scores rate highest there
        used = _top_score_classes(scores, tax, a, b, k=6)
    lanes = [tax.by_label_id(c).name for c in used]
    lane_of = {c: k for k, c in enumerate(used)}
    prow, grow = [], []
    outside = {"pred": 0, "gt": 0}
    for i, (e, (c, _)) in enumerate(zip(pred.events, pcls)):
        if not inside(e):
            outside["pred"] += 1
            continue
        status = ("match" if flags[i] else "false_alarm") if gt is not None else "predicted"
        prow.append((i, e, lane_of[c], status))
    for j, (e, (c, _)) in enumerate(zip(gt.events if gt else [], gcls)):
        if not inside(e):
            outside["gt"] += 1
            continue
        grow.append((j, e, lane_of[c], "match" if j in gt_hit else "miss"))
    counts = {
        "pred": len(prow),
        "gt": len(grow),
        "match": sum(s == "match" for *_, s in prow),
        "false_alarm": sum(s == "false_alarm" for *_, s in prow),
        "miss": sum(s == "miss" for *_, s in grow),
    }
    return TimelinePlan(pred.id, a, b, lanes, prow, grow, tiou, gt is not None, counts, outside)


def _top_score_classes(scores: Scores, tax: Taxonomy, a: float, b: float, k: int) -> list[int]:
    sel = (scores.times >= a) & (scores.times <= b)
    if not np.any(sel):
        return []
    peak = scores.probs[sel].max(axis=0)
    out = []
    for i in np.argsort(-peak, kind="stable"):
        lab = scores.labels[int(i)]
        if lab in tax and len(out) < k:
            out.append(tax.by_name(lab).label_id)
    return sorted(out)


# --------------------------------------------------------------------------- drawing
def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _score_rows(scores: Scores, lanes: list[str], tax: Taxonomy) -> tuple[np.ndarray, list[str]]:
    idx: dict[str, int] = {}
    for k, lab in enumerate(scores.labels):
        if lab in tax:
            idx.setdefault(tax.by_name(lab).name, k)
    rows, names = [], []
    for lane in lanes:
        k = idx.get(lane)
        rows.append(scores.probs[:, k] if k is not None else np.full(len(scores.times), np.nan))
        names.append(lane if k is not None else f"{lane} (not scored)")
    bg = next((k for k, lab in enumerate(scores.labels) if lab.lower() == "background"), None)
    if bg is not None:
        rows.append(1.0 - scores.probs[:, bg])
        names.append("any gesture")
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(scores.times)), names


def pool_columns(
    times: np.ndarray, rows: np.ndarray, dt: float, a: float, b: float, max_cols: int
) -> tuple[float, float, np.ndarray]:
    """The frames of ``rows`` (R, T) inside ``[a, b]``, max-pooled to at most ``max_cols`` columns, so a
    one-frame peak of a long recording survives in the heat strip. Returns ``(x_lo, x_hi, rows)``."""
    sel = np.flatnonzero((times >= a - dt) & (times <= b + dt))
    if sel.size == 0:
        return a, b, np.full((rows.shape[0], 1), np.nan)
    t, r = times[sel], rows[:, sel]
    x_lo, x_hi = float(t[0] - dt / 2), float(t[-1] + dt / 2)
    k = int(np.ceil(r.shape[1] / max(1, max_cols)))
    if k > 1:
        pad = (-r.shape[1]) % k
        if pad:
            r = np.concatenate([r, np.full((r.shape[0], pad), np.nan)], axis=1)
        with np.errstate(all="ignore"):
            blocks = r.reshape(r.shape[0], -1, k)
            nan_all = np.all(np.isnan(blocks), axis=2)
            r = np.where(nan_all, np.nan, np.nanmax(np.where(np.isnan(blocks), -np.inf, blocks), axis=2))
        x_hi = x_lo + r.shape[1] * k * dt
    return x_lo, x_hi, r


def plot_timeline(
    pred: Transcript,
    gt: Optional[Transcript] = None,
    *,
    scores: Optional[Scores] = None,
    tiou: float = 0.3,
    start_s: Optional[float] = None,
    end_s: Optional[float] = None,
    title: Optional[str] = None,
    pred_name: str = "transcript",
    gt_name: str = "ground truth",
    plan: Optional[TimelinePlan] = None,
):
    """The timeline as a matplotlib Figure (Agg); see the module docstring for what it shows."""
    plan = plan or plan_timeline(
        pred, gt, scores=scores, tiou=tiou, start_s=start_s, end_s=end_s, pred_name=pred_name, gt_name=gt_name
    )
    plt = _plt()
    from matplotlib import colors as mcolors
    from matplotlib.patches import Patch
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    a, b = plan.start_s, plan.end_s
    span = b - a
    n = max(1, len(plan.lanes))
    tax = _taxonomy(pred, gt)
    srows = snames = None
    if scores is not None:
        srows, snames = _score_rows(scores, plan.lanes, tax)
    width = float(np.clip(9.0 + span / 90.0, 10.0, 18.0))
    lane_h = 0.42 if plan.has_gt else 0.32
    main_h = 1.3 + n * lane_h
    strip_h = 0.35 + 0.16 * len(snames) if snames else 0.0
    fig = plt.figure(figsize=(width, main_h + strip_h + 0.5), layout="constrained")
    if snames:
        gs = fig.add_gridspec(2, 2, height_ratios=[main_h, strip_h], width_ratios=[1, 0.012])
        ax = fig.add_subplot(gs[0, 0])
        sax = fig.add_subplot(gs[1, 0], sharex=ax)
        cax = fig.add_subplot(gs[0, 1])
        scax = fig.add_subplot(gs[1, 1])
    else:
        gs = fig.add_gridspec(1, 2, width_ratios=[1, 0.012])
        ax, sax, scax = fig.add_subplot(gs[0, 0]), None, None
        cax = fig.add_subplot(gs[0, 1])

    # Blues without its near-white end, so a low-confidence bar stays visible; the colour bar stays honest
    cmap = mcolors.ListedColormap(plt.get_cmap("Blues")(np.linspace(0.18, 1.0, 256)), name="conf")
    norm = mcolors.Normalize(0.0, 1.0)
    min_w = span * 0.0015  # short events stay visible on long recordings
    for k in range(n):
        if k % 2 == 0:
            ax.axhspan(k - 0.5, k + 0.5, color="0.95", zorder=0, lw=0)
    if plan.has_gt:
        p_lo, p_hi, g_lo, g_hi = -0.44, -0.02, 0.02, 0.44
    else:
        p_lo, p_hi = -0.36, 0.36
    marks: dict[str, tuple[list[float], list[float]]] = {"match": ([], []), "false_alarm": ([], []), "miss": ([], [])}
    for i, e, lane, status in plan.pred:
        x0, w = e.start_s, max(e.end_s - e.start_s, min_w)
        edge = {"match": "#1a9641", "false_alarm": "#d7191c"}.get(status, "0.25")
        rect = ax.barh(
            lane + (p_lo + p_hi) / 2, w, left=x0, height=p_hi - p_lo,
            color=cmap(norm(e.confidence)), edgecolor=edge, linewidth=0.8, zorder=3,
        )[0]  # fmt: skip
        rect.set_gid(f"pred:{i}")
        if status in marks:
            marks[status][0].append(x0 + w / 2)
            marks[status][1].append(lane + p_lo + 0.02)
    for j, e, lane, status in plan.gt:
        x0, w = e.start_s, max(e.end_s - e.start_s, min_w)
        rect = ax.barh(
            lane + (g_lo + g_hi) / 2, w, left=x0, height=g_hi - g_lo, color="0.62",
            edgecolor="#fdae61" if status == "miss" else "0.35", linewidth=0.8,
            hatch="///" if status == "miss" else None, zorder=3,
        )[0]  # fmt: skip
        rect.set_gid(f"gt:{j}")
        if status == "miss":
            marks["miss"][0].append(x0 + w / 2)
            marks["miss"][1].append(lane + g_hi - 0.02)
    style = {
        "match": dict(marker="o", color="#1a9641", markersize=4.5),
        "false_alarm": dict(marker="x", color="#d7191c", markersize=5.5, markeredgewidth=1.4),
        "miss": dict(marker="v", color="#f46d43", markersize=5.5),
    }
    if plan.has_gt:
        for key, (xs, ys) in marks.items():
            (line,) = ax.plot(xs, ys, linestyle="none", zorder=5, **style[key])
            line.set_gid(key)

    ax.set_ylim(n - 0.5, -0.5)
    ax.set_yticks(range(len(plan.lanes)), plan.lanes, fontsize=8)
    ax.set_xlim(a, b)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=min(16, int(width * 1.2)), steps=[1, 2, 2.5, 5, 6, 10]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: format_time(x)))
    ax.grid(axis="x", color="0.85", lw=0.6, zorder=1)
    ax.tick_params(axis="x", labelsize=8)
    c = plan.counts
    head = title or plan.id
    if plan.has_gt:
        sub = (
            f"{c['pred']} predicted, {c['gt']} annotated · tIoU {plan.tiou:g}: {c['match']} matched, "
            f"{c['false_alarm']} false alarms, {c['miss']} missed"
        )
    else:
        sub = f"{c['pred']} predicted events"
    out_n = [f"{v} {'predicted' if k == 'pred' else 'annotated'}" for k, v in plan.outside.items() if v]
    if out_n:
        sub += f"; shown {format_time(a)}-{format_time(b)}, {' and '.join(out_n)} outside"
    ax.set_title(f"{head}\n{sub}", fontsize=9, loc="left")
    handles = [Patch(facecolor=cmap(0.7), edgecolor="0.25", label="predicted (shade = confidence)")]
    if plan.has_gt:
        handles += [
            Patch(facecolor="0.62", edgecolor="0.35", label="annotated (lower half of the lane)"),
            Line2D([], [], linestyle="none", label="matched", **style["match"]),
            Line2D([], [], linestyle="none", label="false alarm", **style["false_alarm"]),
            Line2D([], [], linestyle="none", label="missed", **style["miss"]),
        ]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=7, frameon=False)
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    cb = fig.colorbar(sm, cax=cax)
    cb.set_label("confidence", fontsize=7)
    cb.ax.tick_params(labelsize=7)

    if sax is not None and srows is not None and scores is not None:
        t = scores.times
        dt = float(np.median(np.diff(t))) if len(t) > 1 else 1.0 / 25
        x_lo, x_hi, rows = pool_columns(t, srows, dt, a, b, max_cols=int(width * 120))
        im = sax.imshow(
            np.ma.masked_invalid(rows), aspect="auto", interpolation="nearest", cmap="magma", vmin=0.0, vmax=1.0,
            extent=(x_lo, x_hi, len(snames) - 0.5, -0.5),
        )  # fmt: skip
        im.set_gid("scores")
        sax.set_yticks(range(len(snames)), snames, fontsize=6)
        sax.set_xlim(a, b)
        sax.tick_params(axis="x", labelsize=8)
        sax.set_xlabel("time (mm:ss)", fontsize=8)
        cb2 = fig.colorbar(im, cax=scax)
        cb2.set_label("P(class)", fontsize=6)
        cb2.ax.tick_params(labelsize=6)
        ax.tick_params(axis="x", labelbottom=False)
    else:
        ax.set_xlabel("time (mm:ss)", fontsize=8)
    fig.mgreason_plan = plan  # type: ignore[attr-defined]
    return fig


def save_figure(fig: Any, out: str | Path, *, dpi: int = 100, html_title: str = "", html_extra: str = "") -> Path:
    """Write a figure as ``.png``, ``.svg`` or ``.html`` (a self-contained page with the SVG inline)."""
    out = Path(out)
    suf = out.suffix.lower()
    if suf not in FORMATS:
        raise DataError(f"unsupported output {suf or '(no suffix)'}; use {', '.join(FORMATS)}", file=out, field="--out")
    if out.exists() and out.is_dir():
        raise DataError("--out must be a file path, not a directory", file=out)
    out.parent.mkdir(parents=True, exist_ok=True)
    plt = _plt()
    try:
        if suf == ".html":
            buf = io.StringIO()
            fig.savefig(buf, format="svg")
            svg = buf.getvalue()
            svg = svg[svg.find("<svg"):]
            page = (
                "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>"
                + html.escape(html_title or out.stem)
                + "</title><style>body{font-family:sans-serif;margin:1em}svg{max-width:100%;height:auto}"
                "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}"
                ".match{color:#1a9641}.false_alarm{color:#d7191c}.miss{color:#f46d43}</style></head><body>\n"
                + svg + "\n" + html_extra + "\n</body></html>\n"
            )  # fmt: skip
            atomic_write_text(out, page)
        else:
            with atomic_path(out) as tmp:  # never a truncated figure under the final name
                fig.savefig(tmp, format=suf[1:], dpi=dpi, metadata=None if suf == ".svg" else {"Software": None})
    finally:
        plt.close(fig)
    return out


def _events_table(plan: TimelinePlan) -> str:
    rows = ["<table><tr><th>source</th><th>start</th><th>end</th><th>class</th><th>confidence</th><th>at tIoU "
            f"{plan.tiou:g}</th></tr>"]  # fmt: skip
    items = [("predicted", i, e, s) for i, e, _l, s in plan.pred] + [("annotated", j, e, s) for j, e, _l, s in plan.gt]
    items.sort(key=lambda r: (r[2].start_s, r[0]))
    for src, _i, e, s in items:
        st = {"match": "matched", "false_alarm": "false alarm", "miss": "missed", "predicted": ""}[s]
        rows.append(
            f"<tr><td>{src}</td><td>{format_time(e.start_s)}</td><td>{format_time(e.end_s)}</td>"
            f"<td>{html.escape(e.label)}</td><td>{e.confidence:.2f}</td><td class='{s}'>{st}</td></tr>"
        )
    rows.append("</table>")
    return "\n".join(rows)


def write_timeline(
    transcript: str | Path,
    out: str | Path,
    *,
    gt: Optional[str | Path] = None,
    scores: Optional[str | Path] = None,
    tiou: float = 0.3,
    start_s: Optional[float] = None,
    end_s: Optional[float] = None,
    title: Optional[str] = None,
    dpi: int = 100,
) -> tuple[Path, TimelinePlan]:
    """Read the files, draw the timeline, write ``out`` (.png / .svg / .html)."""
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise DataError(f"unsupported output {out.suffix or '(no suffix)'}; use {', '.join(FORMATS)}", file=out, field="--out")
    pred = read_transcript(transcript)
    g = read_transcript(gt) if gt is not None else None
    s = load_scores(scores) if scores is not None else None
    plan = plan_timeline(pred, g, scores=s, tiou=tiou, start_s=start_s, end_s=end_s,
                         pred_name=str(transcript), gt_name=str(gt))  # fmt: skip
    fig = plot_timeline(pred, g, scores=s, plan=plan, title=title)
    extra = _events_table(plan) if out.suffix.lower() == ".html" else ""
    return save_figure(fig, out, dpi=dpi, html_title=title or pred.id, html_extra=extra), plan


def timeline_link(
    transcript: Optional[str | Path], report_dir: str | Path, *, subdir: str = "timelines", fmt: str = ".png"
) -> Optional[str]:
    """For the sweep report: the timeline of a transcript that came from a file, as a link target.

    Draws ``report_dir/<subdir>/<stem>-<sha256[:10]>.png`` once (the name carries the file's content
    hash, so an unchanged transcript is not redrawn) and returns its path relative to ``report_dir``
    (POSIX, ready for ``href``). Returns None when there is nothing to link: no path (an inline
    transcript), a missing file, or a transcript with no events (nothing to draw). An unreadable
    transcript or an unknown class still raises :class:`DataError`.
    """
    if transcript is None:
        return None
    src = Path(transcript)
    if not src.is_file():
        return None
    data = src.read_bytes()
    t = read_transcript(src)
    if not t.events:
        return None
    digest = hashlib.sha256(data).hexdigest()[:10]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", src.name[: -len(".json")] if src.name.endswith(".json") else src.stem)
    rel = Path(subdir) / f"{stem}-{digest}{fmt}"
    dest = Path(report_dir) / rel
    if not dest.is_file():
        fig = plot_timeline(t, title=f"{t.id} ({src.name})", pred_name=str(src))
        save_figure(fig, dest)  # through a unique temporary name: two reports drawing it at once never clash
    return rel.as_posix()


# --------------------------------------------------------------------------- confusion
@dataclass
class Confusion:
    """Rows: annotated class (+ "(false alarm)"); columns: predicted class (+ "(missed)")."""

    rows: list[str]
    cols: list[str]
    counts: np.ndarray
    tiou: float

    def to_csv(self) -> str:
        lines = ["annotated \\ predicted," + ",".join(_csv(c) for c in self.cols)]
        for r, row in zip(self.rows, self.counts):
            lines.append(_csv(r) + "," + ",".join(str(int(v)) for v in row))
        return "\n".join(lines) + "\n"


def _csv(s: str) -> str:
    return '"' + s.replace('"', '""') + '"' if ("," in s or '"' in s) else s


def _overlap_matching(pred: Sequence[MGEvent], gt: Sequence[MGEvent], tiou: float) -> list[tuple[int, int]]:
    """One-to-one, label-agnostic: pairs by decreasing tIoU (>= threshold)."""
    from mgreason.transcript_metrics import tiou as _tiou

    cand = []
    for i, p in enumerate(pred):
        for j, g in enumerate(gt):
            v = _tiou((p.start_s, p.end_s), (g.start_s, g.end_s))
            if v >= tiou - 1e-12 and v > 0:
                cand.append((-v, i, j))
    cand.sort()
    used_p, used_g, out = set(), set(), []
    for _v, i, j in cand:
        if i not in used_p and j not in used_g:
            used_p.add(i)
            used_g.add(j)
            out.append((i, j))
    return out


def confusion_at(pairs: Sequence[tuple[Transcript, Transcript]], tiou: float = 0.3) -> Confusion:
    """Class confusion of ``(pred, gt)`` pairs at a tIoU.

    Each annotated event is paired with at most one predicted event of *any* class (one-to-one, by
    decreasing tIoU, ``>= tiou``): the pair counts in (annotated class, predicted class); an annotated
    event left alone counts as "(missed)", a predicted event left alone as "(false alarm)". The
    diagonal is what :func:`~mgreason.transcript_metrics.f1_at` calls true positives when every
    overlap is unambiguous.
    """
    if not 0.0 < tiou <= 1.0:
        raise DataError(f"tIoU must be in (0, 1], got {tiou}", field="--tiou")
    tax = _taxonomy(*[g for _, g in pairs], *[p for p, _ in pairs])
    cells: dict[tuple[str, str], int] = {}
    seen: set[int] = set()
    for pred, gt in pairs:
        pc = _class_index(pred, tax, pred.id)
        gc = _class_index(gt, tax, gt.id)
        seen.update(c for c, _ in pc)
        seen.update(c for c, _ in gc)
        m = _overlap_matching(pred.events, gt.events, tiou)
        mp, mg = {i for i, _ in m}, {j for _, j in m}
        for i, j in m:
            key = (gc[j][1], pc[i][1])
            cells[key] = cells.get(key, 0) + 1
        for j, (_, name) in enumerate(gc):
            if j not in mg:
                cells[(name, MISSED)] = cells.get((name, MISSED), 0) + 1
        for i, (_, name) in enumerate(pc):
            if i not in mp:
                cells[(FALSE_ALARM, name)] = cells.get((FALSE_ALARM, name), 0) + 1
    names = [tax.by_label_id(c).name for c in sorted(seen)]
    rows, cols = names + [FALSE_ALARM], names + [MISSED]
    counts = np.zeros((len(rows), len(cols)), dtype=np.int64)
    for (r, c), v in cells.items():
        counts[rows.index(r), cols.index(c)] = v
    return Confusion(rows, cols, counts, tiou)


def plot_confusion(conf: Confusion, *, title: str = ""):
    """The confusion matrix as a Figure: counts in the cells, colour = share of the row."""
    plt = _plt()
    nr, nc = len(conf.rows), len(conf.cols)
    size = float(np.clip(2.5 + 0.38 * max(nr, nc), 4.5, 16.0))
    fig, ax = plt.subplots(figsize=(size + 1.5, size), layout="constrained")
    tot = conf.counts.sum(axis=1, keepdims=True)
    share = np.divide(conf.counts, tot, out=np.zeros(conf.counts.shape, dtype=float), where=tot > 0)
    im = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0, aspect="equal")
    im.set_gid("confusion")
    for r in range(nr):
        for c in range(nc):
            v = int(conf.counts[r, c])
            if v:
                ax.text(c, r, str(v), ha="center", va="center", fontsize=7,
                        color="white" if share[r, c] > 0.6 else "black", gid=f"cell:{r}:{c}")  # fmt: skip
    ax.set_xticks(range(nc), conf.cols, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(nr), conf.rows, fontsize=7)
    ax.set_xlabel("predicted class", fontsize=8)
    ax.set_ylabel("annotated class", fontsize=8)
    n_gt = int(conf.counts[:-1].sum())
    diag = int(sum(conf.counts[i, i] for i in range(min(nr, nc) - 1)))
    ax.set_title(
        (title + "\n" if title else "")
        + f"tIoU {conf.tiou:g}: {diag} of {n_gt} annotated events matched with the right class",
        fontsize=9, loc="left",
    )  # fmt: skip
    cb = fig.colorbar(im, ax=ax, shrink=0.6)
    cb.set_label("share of the row", fontsize=7)
    return fig


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "recording"


def write_eval_plots(
    pairs: Sequence[tuple[Transcript, Transcript]], out_dir: str | Path, *, tiou: float = 0.3
) -> list[Path]:
    """``eval-transcripts --plot DIR``: ``<id>.timeline.png`` per recording, the confusion matrix at
    ``tiou`` (``confusion_tiou<t>.png`` and ``.csv``). Recordings with no events on either side get
    no timeline."""
    out_dir = Path(out_dir)
    if not 0.0 < tiou <= 1.0:
        raise DataError(f"tIoU must be in (0, 1], got {tiou:g}", field="--plot-tiou")
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError("--plot must be a directory", file=out_dir, field="--plot")
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    names: dict[str, int] = {}
    for pred, gt in pairs:
        if not pred.events and not gt.events:
            continue
        name = _safe(gt.id)
        names[name] = names.get(name, 0) + 1
        if names[name] > 1:
            name = f"{name}-{names[name]}"
        fig = plot_timeline(pred, gt, tiou=tiou, title=f"{gt.id}: prediction vs annotation", pred_name=pred.id,
                            gt_name=gt.id)  # fmt: skip
        written.append(save_figure(fig, out_dir / f"{name}.timeline.png"))
    conf = confusion_at(pairs, tiou)
    written.append(save_figure(plot_confusion(conf, title=f"{len(pairs)} recording(s)"), out_dir / f"confusion_tiou{tiou:g}.png"))
    csv_path = out_dir / f"confusion_tiou{tiou:g}.csv"
    csv_path.write_text(conf.to_csv(), encoding="utf-8")
    written.append(csv_path)
    return written
