"""``mgreason analyze`` (registered by :mod:`mgreason.cli`): the logic lives in :mod:`mgreason.analyze`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from mgreason.errors import MGReasonError

__all__ = ["register", "analyze_cmd", "recording_resolver"]


def recording_resolver(console=None):
    """The resolver the commands hand to ``load_scenario``: transcribes recordings through the cache and says so."""
    from mgreason.analyze.recordings import RecordingTranscriber

    def on_event(kind: str, path: Path, seconds: float) -> None:
        if console is not None and kind == "transcribed":
            from rich.markup import escape

            console.print(f"transcribed {escape(str(path))} in {seconds:.1f} s (cached for the next run)", highlight=False)

    return RecordingTranscriber(on_event=on_event)


def analyze_cmd(
    inputs: List[Path] = typer.Argument(
        ..., help="recordings: videos, skeleton recordings (anything `transcribe` reads), transcript JSONs, or "
        "folders of them (several make a batch)"
    ),
    dialogue: Optional[List[Path]] = typer.Option(
        None, "--dialogue", "-d", help="what was said: plain text ('Name: text' lines), SRT / WebVTT (times are "
        "shown), or JSON turns; one per recording in order (default: clip.srt / .vtt / .dialogue.json / .txt "
        "next to clip.mp4)"
    ),
    scenario: Optional[Path] = typer.Option(None, "--scenario", "-s", help="a scenario file whose prompts and labels to use"),
    task: Optional[str] = typer.Option(None, "--task", "-t", help="emotion | deception | interview (default: emotion)"),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="model, as for run-scenario (default: the embedded SmolLM2)"),
    backend: str = typer.Option("hf", "--backend", "-b", help="backend: hf | vllm | openai | mock (tests only)"),
    checkpoint: Optional[str] = typer.Option(
        None, "--checkpoint", "-c", help="recognizer checkpoint: a bundled name or a directory (default tiny-real298)"
    ),
    context: Optional[str] = typer.Option(None, "--context", help="the setting, one sentence (shown to the model)"),
    subject: Optional[str] = typer.Option(None, "--subject", help="who is filmed, e.g. 'candidate' (default: person)"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="run directory (default: runs/<run-id>)"),
    seed: int = typer.Option(0, "--seed", help="seed of the shuffled control"),
    cache: bool = typer.Option(True, "--cache/--no-cache", help="reuse answers from the response cache"),
    as_json: bool = typer.Option(False, "--json", help="print the verdicts as JSON"),
) -> None:
    """From recordings to a verdict: transcribe (cached), ask the model with and without the micro-gestures."""
    from rich.console import Console

    from mgreason.analyze.analysis import run_analysis
    from mgreason.analyze.items import attach_dialogue, find_recordings, task_scenario
    from mgreason.analyze.report import analysis_json, render
    from mgreason.backends import backend_names
    from mgreason.eval.run import check_out_dir
    from mgreason.fileio import require_writable

    console = Console(stderr=True, soft_wrap=True, highlight=False)
    if scenario is not None and task is not None:
        raise MGReasonError("give --scenario or --task, not both", field="--task")
    if backend not in backend_names():
        raise MGReasonError(f"unknown backend {backend!r}; choose one of: {', '.join(backend_names())}", field="--backend")
    scenario_path = scenario if scenario is not None else task_scenario(task or "emotion")
    if out is not None:
        check_out_dir(out)
    require_writable(out if out is not None else Path("runs"), directory=True, field="--out")
    recs = attach_dialogue(find_recordings(inputs), list(dialogue or []), speaker=(subject or "person").capitalize())

    def on_scenario(sc, n) -> None:
        console.print(f"{sc.id}: {len(sc.items)} recording(s) × {len(sc.conditions)} conditions = {n} prompts; "
                      f"model {model or 'default'}")  # fmt: skip

    an = run_analysis(
        scenario_path, recs, task=task or (scenario.stem if scenario else "emotion"), model=model, backend=backend,
        checkpoint=checkpoint, context=context, subject=subject, out_dir=out, seed=seed, cache=cache,
        transcriber=recording_resolver(console), on_scenario=on_scenario,
    )  # fmt: skip
    if as_json:
        print(json.dumps(analysis_json(an), indent=2, ensure_ascii=False))
    else:
        print(render(an))
    failed = [v for v in an.verdicts for a in v.answers.values() if a.error is not None]
    if failed:
        console.print(f"[red]error:[/] {len(failed)} request(s) failed; the same command again retries them")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze_cmd)
