"""Authoring commands: ``new-scenario`` and ``generate-items`` (registered by :mod:`mgreason.cli`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from mgreason.errors import MGReasonError
from mgreason.fileio import output_option


def new_scenario_cmd(
    name: str = typer.Argument(..., help="scenario id and file stem (letters, digits, '_' or '-')"),
    directory: Path = output_option(Path("."), "--dir", "-d", directory=True, help="directory for NAME.yaml, prompts/NAME/ and data/"),
    force: bool = typer.Option(False, "--force", help="overwrite existing files"),
    from_scenario: Optional[Path] = typer.Option(
        None, "--from", help="derive from this scenario instead (needs --transcripts): same prompts, labels, items"
    ),
    transcripts: Optional[Path] = typer.Option(
        None, "--transcripts", help="with --from: directory of ITEM_ID.json transcripts (e.g. from `mgreason transcribe`)"
    ),
) -> None:
    """Scaffold a scenario (YAML, prompt templates, 3 example items) that validates and runs immediately.

    With --from SCENARIO --transcripts DIR: the same scenario with each item's MG evidence read from DIR/ITEM_ID.json.
    """
    from mgreason.authoring.scaffold import new_scenario, with_transcripts

    if (from_scenario is None) != (transcripts is None):
        raise MGReasonError("--from and --transcripts go together", field="--from" if transcripts is None else "--transcripts")
    if from_scenario is not None:
        paths = with_transcripts(from_scenario, name, transcripts, directory, force=force)
        for p in paths.values():
            print(f"wrote {p}")
        print(f"\nnext:\n  mgreason validate {paths['scenario']}\n  mgreason run-scenario {paths['scenario']}")
        return
    paths = new_scenario(name, directory, force=force)
    for p in paths.values():
        print(f"wrote {p}")
    y = paths["scenario"]
    print(
        f"\nnext:\n  mgreason validate {y}\n  mgreason show-prompt {y} --item ex-1 --condition with_mg\n"
        f"  mgreason run-scenario {y} --limit 2\n"
        "then replace the example items and edit the templates (authoring guide: docs/scenarios.md)"
    )


def generate_items_cmd(
    kind: str = typer.Argument(..., help="pack: deception | interview"),
    n: Optional[int] = typer.Option(None, "--n", min=1, help="number of items (default: the shipped pack's, 36)"),
    seed: Optional[int] = typer.Option(None, "--seed", help="seed (default: the shipped pack's, 0)"),
    out: Optional[Path] = output_option(None, "--out", "-o", help="items JSONL to write (default: the shipped pack's file)"),
    report: Optional[Path] = output_option(None, "--report", help="also write the informativeness report as JSON"),
    measure_n: int = typer.Option(2000, "--measure-n", min=0, help="items of a separate sample for the generator's informativeness (0: skip)"),
) -> None:
    """Write a SYNTHETIC item pack (dialogue + label-dependent MG transcripts) and measure what the MG evidence is worth."""
    from mgreason.authoring import generators as g
    from mgreason.authoring import informativeness as inf
    from mgreason.authoring.packs import PACKS

    if kind not in PACKS:
        raise MGReasonError(f"unknown pack {kind!r}; choose one of: {', '.join(PACKS)}", field="KIND")
    pack = PACKS[kind]
    n = pack.n_default if n is None else n
    seed = pack.seed_default if seed is None else seed
    out = Path(pack.items_file) if out is None else out
    items = g.generate_items(kind, n, seed, command=g.generator_command(kind, n, seed, out.as_posix()))
    g.write_items(items, out)
    print(f"wrote {out}: {n} SYNTHETIC {kind} items (seed {seed}, generator v{g.GENERATOR_VERSION})")

    result: dict = {"command": g.generator_command(kind, n, seed, out.as_posix()), "generator_version": g.GENERATOR_VERSION}
    if measure_n:
        sample = inf.measure_sample(kind, measure_n, seed)
        gen = inf.measure_informativeness(sample, kind, folds=5, seed=seed)
        print("\ninformativeness of the generator (a separate sample):")
        print("\n".join(gen.lines()))
        result["generator"] = gen.as_dict()
        held = inf.measure_held_out(sample, items, kind)
        print("\ninformativeness of the written items (classifiers from the sample above; binomial noise at this size):")
        print("\n".join(held.lines()))
        result["items"] = held.as_dict()
    if n >= 10:
        own = inf.measure_informativeness(items, kind, folds=n, seed=seed)
        result["items_loo"] = own.as_dict()  # fitted on the items themselves: very noisy, JSON report only
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {report}")


def register(app: typer.Typer) -> None:
    app.command("new-scenario")(new_scenario_cmd)
    app.command("generate-items")(generate_items_cmd)
