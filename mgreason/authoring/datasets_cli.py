"""`mgreason datasets build-items dolos|rlt|imigue` and `mgreason imigue ...`: items and scenarios from a copy
of a third-party dataset. The readers (mgreason.datasets) return items; this authoring-side module writes them."""

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
    _imigue_items(labels, _splits_path(labels, splits), out, transcripts_dir, missing, durations)


def _imigue_items(
    labels: Path, splits: Path, out: Path, transcripts_dir: Optional[Path], missing: str, durations: Optional[Path]
) -> None:
    from mgreason.datasets.imigue import build_items, load_splits, read_transcripts_dir
    from mgreason.datasets.imigue_labels import load_durations, load_imigue
    from mgreason.errors import MGReasonError
    from mgreason.scenario.loader import write_items

    if missing not in ("error", "skip", "annotation"):
        raise MGReasonError(f"--missing must be error, skip or annotation, got {missing!r}", field="--missing")
    ds = load_imigue(labels, durations=load_durations(durations) if durations else None)
    split = load_splits(splits, ds)
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


datasets_app = typer.Typer(
    no_args_is_help=True,
    help="Third-party datasets (DOLOS, Real-Life Trial, iMiGUE): items, splits and a scenario from your own copy.",
)


@datasets_app.command("build-items")
def datasets_build_items_cmd(
    dataset: str = typer.Argument(..., help="dolos | rlt | imigue"),
    root: Path = typer.Option(
        ...,
        "--root",
        help="the release folder: DOLOS: Dolos.xlsx and/or train_dolos.xlsx (+ training_protocols/); RLT: Annotation/ "
        "(+ Transcription/); iMiGUE: labels_20200831.csv and splits.json",
    ),
    out: Path = output_option(..., "--out", "-o", directory=True, help="directory for the items, splits and the scenario OUT/<name>.yaml"),
    groups: Optional[Path] = typer.Option(
        None, "--groups", help="CSV with columns id and subject: the speaker of each clip (RLT has none; DOLOS: overrides names)"
    ),
    seed: int = typer.Option(0, "--seed", help="seed of the speaker-disjoint split"),
    shots: int = typer.Option(0, "--shots", min=0, max=32, help="k demonstrations from the train split in the scenario (0: zero-shot)"),
) -> None:
    """Read a dataset release and write its items JSONL, splits and a scenario YAML that validates and runs."""
    from mgreason.errors import MGReasonError

    name = dataset.strip().lower()
    if name == "imigue":
        if groups is not None:
            raise MGReasonError("iMiGUE items are grouped by its subject ids; --groups is for dolos and rlt", field="--groups")
        _imigue_items(root, _splits_path(root, None), out, None, "error", None)
        return
    if name not in ("dolos", "rlt"):
        raise MGReasonError(f"unknown dataset {dataset!r}; choose dolos, rlt or imigue", field="DATASET")
    from mgreason.authoring.real_data import write_scenario
    from mgreason.datasets.deception import read_groups

    group_map = read_groups(groups) if groups is not None else None
    if name == "dolos":
        from mgreason.datasets.dolos import load_dolos

        data = load_dolos(root, groups=group_map, seed=seed)
    else:
        from mgreason.datasets.rlt import load_rlt

        data = load_rlt(root, groups=group_map, seed=seed)
    command = f"mgreason datasets build-items {name} --root {root} --out {out}" + (
        f" --groups {groups}" if groups is not None else ""
    ) + (f" --seed {seed}" if seed else "") + (f" --shots {shots}" if shots else "")
    paths = write_scenario(data, out, shots=shots, seed=seed, command=command)
    print("\n".join(data.notes))
    from mgreason.datasets.deception import describe_split, group_overlap

    sp = data.splits["speaker"]
    print(f"speaker-disjoint split (seed {seed}): {describe_split(data.items, sp)}; speakers in two parts: {group_overlap(data.items, sp)}")
    print(f"wrote {out}/: train.jsonl dev.jsonl test.jsonl all.jsonl splits.json prompts/ {paths['scenario'].name}")
    print(
        "These files are derived from a third-party dataset: keep them out of version control.\n"
        f"next:\n  mgreason validate {paths['scenario']}\n  mgreason run-scenario {paths['scenario']} --backend mock"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(imigue_app, name="imigue")
    app.add_typer(datasets_app, name="datasets")
