"""``mgreason synth ...``: write synthetic clips and sessions to disk.

:func:`register` adds the ``synth`` command group to a Typer app. User-input errors
raise :class:`~mgreason.errors.DataError` (the main CLI prints one line, exit 2).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import typer

from mgreason.errors import DataError, set_interrupt_note
from mgreason.fileio import atomic_write_text, output_option

# numpy/scipy and the generator are imported inside the commands: ``mgreason --help`` and every other
# command load this module to register the group, and should not pay for them.

__all__ = ["register", "parse_classes"]


def parse_classes(text: Optional[str]) -> Optional[list[int | str]]:
    """``"4,5,forehead-ish name"`` -> ``[4, 5, "..."]``; empty -> None (all supported)."""
    if text is None or not text.strip():
        return None
    out: list[int | str] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        out.append(int(part) if part.lstrip("-").isdigit() else part)
    return out or None


def _config(fps: float, noise: float, amplitude: float) -> "GeneratorConfig":  # noqa: F821
    from mgreason.synth.generate import GeneratorConfig

    return GeneratorConfig(fps=fps, noise=noise, amplitude=amplitude)


def _out_dir(out: Path) -> Path:
    """The output directory, checked writable (one error line, exit 2) before any generation."""
    from mgreason.fileio import output_problem

    problem = output_problem(out, directory=True)
    if problem is not None:
        raise DataError(f"cannot write the output here: {problem}", file=out, field="--out")
    out.mkdir(parents=True, exist_ok=True)
    return out


synth_app = typer.Typer(help="Synthetic micro-gesture skeleton data (imigue22 layout).", no_args_is_help=True)


@synth_app.command("clips")
def clips_cmd(
    out: Path = output_option(..., "--out", directory=True, help="output directory"),
    n_per_class: int = typer.Option(50, "--n-per-class", help="clips per class"),
    seed: int = typer.Option(0, "--seed", help="random seed (same seed, same data)"),
    classes: Optional[str] = typer.Option(None, "--classes", help="comma-separated iMiGUE raw ids or names"),
    subjects: int = typer.Option(40, "--subjects", help="number of simulated people"),
    val_frac: float = typer.Option(0.1, "--val-frac", help="fraction of subjects held out for validation"),
    test_frac: float = typer.Option(0.2, "--test-frac", help="fraction of subjects held out for testing"),
    noise: float = typer.Option(1.0, "--noise", help="tracker noise/dropout level (0 = perfect)"),
    amplitude: float = typer.Option(1.0, "--amplitude", help="gesture amplitude factor"),
    fps: float = typer.Option(25.0, "--fps"),
    name: str = typer.Option("synth_clips", "--name", help="file name stem"),
) -> None:
    """Labelled clips as a PYSKL pickle with subject-held-out train/val/test splits."""
    import numpy as np

    from mgreason.synth.generate import generate_clips
    from mgreason.taxonomy import IMIGUE

    out = _out_dir(out)
    set_interrupt_note(f"nothing written under {out} (clips are written at the end); run the same command again")
    t0 = time.perf_counter()
    cs = generate_clips(
        n_per_class,
        classes=parse_classes(classes),
        seed=seed,
        n_subjects=subjects,
        val_frac=val_frac,
        test_frac=test_frac,
        config=_config(fps, noise, amplitude),
    )
    gen_s = time.perf_counter() - t0
    pkl = cs.write_pyskl(out / f"{name}.pkl")
    manifest = dict(cs.meta)
    manifest.update(
        {
            "file": pkl.name,
            "clips": len(cs),
            "split_sizes": {k: len(v) for k, v in cs.split.items()},
            "label_ids": {int(r): IMIGUE.by_raw_id(int(r)).label_id for r in cs.meta["classes"]},
            "mean_frames": float(np.mean(cs.lengths)),
            "generation_s": round(gen_s, 3),
        }
    )
    atomic_write_text(out / f"{name}.json", json.dumps(manifest, indent=2) + "\n")
    typer.echo(
        f"wrote {len(cs)} clips ({len(cs.meta['classes'])} classes, {subjects} subjects; "
        + ", ".join(f"{k} {len(v)}" for k, v in cs.split.items())
        + f") to {pkl} in {gen_s:.1f}s"
    )


@synth_app.command("session")
def session_cmd(
    out: Path = output_option(..., "--out", directory=True, help="output directory"),
    minutes: float = typer.Option(5.0, "--minutes", help="length of each session"),
    seed: int = typer.Option(0, "--seed", help="random seed; session i of --count uses seed + i"),
    count: int = typer.Option(1, "--count", help="number of sessions"),
    subject: Optional[int] = typer.Option(
        None, "--subject", help="use subject k of the clips' subject table (same --seed/--subjects)"
    ),
    subjects: int = typer.Option(40, "--subjects", help="size of the subject table (with --subject)"),
    rate: float = typer.Option(6.0, "--rate", help="mean gestures per minute"),
    class_weights: str = typer.Option("imigue", "--class-weights", help="imigue (realistic) or uniform"),
    classes: Optional[str] = typer.Option(None, "--classes", help="comma-separated iMiGUE raw ids or names"),
    camera_cuts: float = typer.Option(0.0, "--camera-cuts", help="mean seconds between camera cuts (0 = none)"),
    noise: float = typer.Option(1.0, "--noise", help="tracker noise/dropout level (0 = perfect)"),
    amplitude: float = typer.Option(1.0, "--amplitude", help="gesture amplitude factor"),
    fps: float = typer.Option(25.0, "--fps"),
    pyskl: bool = typer.Option(False, "--pyskl", help="also write sessions.pkl (PYSKL with segments)"),
) -> None:
    """Long recordings (npz skeleton + ground-truth transcript JSON) for online recognition."""
    from mgreason.skeleton.io_pyskl import write_pyskl
    from mgreason.synth.generate import generate_session

    if not 1 <= count <= 100_000:
        raise DataError(f"count must be in [1, 100000], got {count}", field="count")
    if not 1 <= subjects <= 100_000:
        raise DataError(f"subjects must be in [1, 100000], got {subjects}", field="subjects")
    if seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed}", field="seed")
    out = _out_dir(out)
    cfg = _config(fps, noise, amplitude)
    anns = []
    for i in range(count):
        set_interrupt_note(
            f"{i} of {count} sessions written to {out} (complete files only); run the same command "
            "again (seeded: it writes the same files)"
        )
        s = generate_session(
            minutes,
            seed=seed + i,
            subject=subject,
            n_subjects=subjects,
            classes=parse_classes(classes),
            rate_per_min=rate,
            class_weights=class_weights,
            camera_cuts_s=camera_cuts,
            config=cfg,
        )
        # .npz then transcript, each written to a temporary name and renamed when complete
        # (SkeletonSequence.save, Transcript.write): Ctrl-C never leaves a truncated file
        seq_path, tr_path = s.write(out)
        typer.echo(f"wrote {seq_path.name} ({s.sequence.num_frames} frames) and {tr_path.name} "
                   f"({len(s.transcript.events)} gestures)")  # fmt: skip
        if pyskl:
            from mgreason.skeleton.io_pyskl import sequence_to_annotation

            segs = [
                (int(round(e.start_s * fps)), int(round(e.end_s * fps)), int(e.label_id))
                for e in s.transcript.events
            ]
            anns.append(sequence_to_annotation(s.sequence, -1, s.transcript.id, segments=segs))
    if pyskl:
        path = write_pyskl(out / "sessions.pkl", anns, {"all": [a["frame_dir"] for a in anns]})
        typer.echo(f"wrote {path}")


@synth_app.command("classes")
def classes_cmd() -> None:
    """List the iMiGUE classes the generator can produce."""
    from mgreason.synth.gestures import supported_raw_ids
    from mgreason.taxonomy import IMIGUE

    for raw in supported_raw_ids():
        c = IMIGUE.by_raw_id(raw)
        typer.echo(f"{raw:>3}  label {c.label_id:>2}  {c.name}")


def register(app: typer.Typer) -> None:
    """Add the ``synth`` command group (``clips``, ``session``, ``classes``) to ``app``."""
    app.add_typer(synth_app, name="synth")
