"""`mgreason imigue ...`: build scenario items from a copy of iMiGUE."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Optional

import typer

from mgreason.fileio import output_option

imigue_app = typer.Typer(
    no_args_is_help=True,
    help="iMiGUE (tennis press conferences, win/lose = positive/negative emotion): items for scenarios/imigue_emotion.yaml.",
)


def _splits_path(labels: Path, splits: Optional[Path]) -> Path:
    if splits is not None:
        return splits
    base = labels if labels.is_dir() else labels.parent
    return base / "splits.json"


@imigue_app.command("build-items")
def build_items_cmd(
    labels: Path = typer.Option(
        ..., "--labels", help="iMiGUE annotation CSV (labels_20200831.csv), or the directory holding it"
    ),
    splits: Optional[Path] = typer.Option(
        None,
        "--splits",
        help="emotion split JSON with \"train\" and \"test\" lists of video ids (default: splits.json beside the labels)",
    ),
    out: Path = output_option(Path("data/imigue"), "--out", "-o", directory=True, help="directory for train.jsonl and test.jsonl"),
    transcripts_dir: Optional[Path] = typer.Option(
        None,
        "--transcripts-dir",
        help="directory of recognized transcript JSON/JSONL files (e.g. `mgreason transcribe` output), one per video "
        "id; they replace the annotation transcripts",
    ),
    missing: str = typer.Option(
        "error",
        "--missing",
        help="with --transcripts-dir, a video without a recognized transcript: error | skip | annotation (keep its annotations)",
    ),
    durations: Optional[Path] = typer.Option(
        None, "--durations", help="CSV video_id,duration_s (or JSON) of recording lengths; default: last annotation end"
    ),
) -> None:
    """Write train.jsonl and test.jsonl: one item per video with its gold label and MG transcript."""
    from mgreason.datasets.imigue import build_items, load_splits, read_transcripts_dir, write_items
    from mgreason.datasets.imigue_labels import load_durations, load_imigue
    from mgreason.errors import MGReasonError

    if missing not in ("error", "skip", "annotation"):
        raise MGReasonError(f"--missing must be error, skip or annotation, got {missing!r}", field="--missing")
    ds = load_imigue(labels, durations=load_durations(durations) if durations else None)
    split = load_splits(_splits_path(labels, splits), ds)
    recognized = read_transcripts_dir(transcripts_dir) if transcripts_dir is not None else None
    for name in ("train", "test"):
        items = build_items(ds, split.ids(name), split=name, transcripts=recognized, missing=missing)  # type: ignore[arg-type]
        path = write_items(items, out / f"{name}.jsonl")
        lab = Counter(it["label"] for it in items)
        src = Counter(it["transcript_source"] for it in items)
        n_ev = [it["n_events"] for it in items]
        print(
            f"{path}: {len(items)} items ({lab['positive']} positive, {lab['negative']} negative), "
            f"transcripts: {', '.join(f'{k} {v}' for k, v in sorted(src.items()))}; "
            f"events per video: median {sorted(n_ev)[len(n_ev) // 2] if n_ev else 0}, max {max(n_ev, default=0)}"
        )
    print(
        "These files are derived from iMiGUE: keep them out of version control "
        "(data/ is git-ignored). Run: mgreason run-scenario scenarios/imigue_emotion.yaml"
    )


@imigue_app.command("export-transcripts")
def export_transcripts_cmd(
    labels: Path = typer.Option(..., "--labels", help="iMiGUE annotation CSV, or the directory holding it"),
    out: Path = output_option(..., "--out", "-o", directory=True, help="directory for <video_id>.json transcripts"),
    video: Optional[list[int]] = typer.Option(None, "--video", help="only these video ids (repeatable)"),
) -> None:
    """Write the ground-truth transcript of each video as a Transcript JSON file."""
    from mgreason.datasets.imigue_labels import item_id, load_imigue

    ds = load_imigue(labels)
    ids = video or ds.video_ids
    for v in ids:
        ds.transcript(v).write(out / f"{item_id(v)}.json")
    print(f"wrote {len(ids)} transcripts to {out}/")


def register(app: typer.Typer) -> None:
    app.add_typer(imigue_app, name="imigue")
