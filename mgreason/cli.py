"""The `mgreason` command line."""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape

from mgreason.backends import DEFAULT_BACKEND  # cheap: a backend module loads only when it is created
from mgreason.errors import MGReasonError, printable, set_interrupt_note
from mgreason.fileio import require_writable

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Micro-gesture based affective reasoning: transcripts, scenarios, LLM scoring with and without MG evidence.",
)
# soft_wrap: messages are never hard-wrapped at the console width (80 columns when stderr is not a
# terminal), so a long path stays on one line in logs and pipes.
console = Console(stderr=True, soft_wrap=True)


def _print_flags(summary) -> None:
    """Every flag and verdict of a run summary on stderr, one line each (they are in summary.md too)."""
    from rich.markup import escape

    verdicts = {c.verdict for c in summary.comparisons if c.verdict}
    for line in summary.flags:
        kind = "verdict" if line in verdicts else "flag"
        console.print(f"[bold]{kind}:[/] {escape(line)}")


class _Progress:
    """Scoring progress on stderr: a rich bar on a terminal (or with ``MGREASON_PROGRESS=1``); elsewhere (logs,
    pipes, CI) a plain line every :attr:`EVERY_S` seconds, as ``sweep`` prints, and a last one when it printed any."""

    EVERY_S = 10.0

    def __init__(self, total: int, description: str):
        import time

        self.total, self.description = total, description
        self.done = 0
        self._clock = time.monotonic
        self.t0 = self._last = self._clock()
        self.lines = 0
        self._shown = 0  # the count on the last line printed
        self._bar = None
        if console.is_terminal or os.environ.get("MGREASON_PROGRESS") == "1":
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=console)  # fmt: skip
            self._task = self._bar.add_task(description, total=total)

    def __enter__(self) -> "_Progress":
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
        elif exc[0] is None and self.lines and self._shown != self.done:
            self._line()  # the final count

    def advance(self, n: int) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.advance(self._task, n)
        elif self._clock() - self._last >= self.EVERY_S:
            self._line()

    @staticmethod
    def _clock_text(s: Optional[float]) -> str:
        if s is None:
            return "—"
        m, sec = divmod(int(round(s)), 60)
        return f"{m // 60}:{m % 60:02d}:{sec:02d}" if m >= 60 else f"{m}:{sec:02d}"

    def _line(self) -> None:
        self.lines += 1
        self._shown = self.done
        now = self._last = self._clock()
        elapsed = now - self.t0
        pct = 100.0 * self.done / self.total if self.total else 100.0
        eta = self._clock_text(elapsed / self.done * (self.total - self.done) if self.done else None)
        console.print(f"{self.description}: {self.done}/{self.total} prompts ({pct:.0f}%) · elapsed "
                      f"{self._clock_text(elapsed)} · eta {eta}", highlight=False)  # fmt: skip


def _recordings():
    """What turns the recordings of a scenario's items into transcripts (``transcripts: {source: recognizer}``),
    through the transcript cache; cheap until a scenario has such items."""
    from mgreason.analyze.cli import recording_resolver

    return recording_resolver(console)


@app.command("run-scenario")
def run_scenario_cmd(
    scenario: Path = typer.Argument(..., help="scenario YAML file"),
    model: Optional[str] = typer.Option(
        None, "--model", "-m", help="model: 'smollm2-135m-instruct' (embedded default), a local HF dir, a .gguf file or a hub id"
    ),
    backend: str = typer.Option(DEFAULT_BACKEND, "--backend", "-b", help="backend: hf | vllm | openai | mock (tests only)"),
    limit: Optional[int] = typer.Option(None, "--limit", "-n", min=1, help="only the first N items"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="run directory (default: runs/<run-id>)"),
    seed: int = typer.Option(0, "--seed", help="seed for the shuffled control and the bootstrap"),
    n_boot: int = typer.Option(10000, "--n-boot", min=100, help="paired-bootstrap resamples"),
    engine_arg: Optional[List[str]] = typer.Option(
        None, "--engine-arg", "-E", help="backend/engine option KEY=VALUE, repeatable (vllm: vllm.LLM engine args, "
        "e.g. dtype=bfloat16, max_model_len=4096, tensor_parallel_size=2; openai: timeout=60, max_retries=5; "
        "hf: dtype, threads); VALUE is parsed as JSON when it can be"
    ),
    base_url: Optional[List[str]] = typer.Option(
        None, "--base-url", help="openai backend: server URL, e.g. http://127.0.0.1:8000/v1; repeat it for several "
        "replicas of the model (requests are spread over them and retried elsewhere when one fails)"
    ),
    api_key: Optional[str] = typer.Option(None, "--api-key", help="openai backend: API key (default: $OPENAI_API_KEY)"),
    concurrency: Optional[int] = typer.Option(None, "--concurrency", min=1, help="openai backend: requests in flight"),
    batch_size: int = typer.Option(
        64, "--batch-size", min=0, help="prompts per backend call (whole items); each batch's answers reach the "
        "response cache when it is done, so Ctrl-C keeps them; 0 = all prompts in one call"
    ),
    cache: bool = typer.Option(
        True, "--cache/--no-cache", help="answer repeated prompts from the response cache shared with sweeps "
        "($MGREASON_RESPONSE_CACHE, default ~/.cache/mgreason/responses.sqlite)"
    ),
    ceiling: bool = typer.Option(
        True, "--ceiling/--no-ceiling", help="fit the evidence ceiling beside the LLM: learned classifiers (evidence "
        "only, text only, both, majority class) on the same items, out of fold (no LLM; a few seconds)"
    ),
    adapter: Optional[Path] = typer.Option(
        None, "--adapter", help="hf or vllm backend: a LoRA adapter made by `mgreason adapt` on this --model"
    ),
    items: Optional[Path] = typer.Option(
        None, "--items", help="score these items (same columns) instead of the scenario's items.path"
    ),
) -> None:
    """Run every item of a scenario under every condition and report paired statistics."""
    from mgreason.backends import backend_names, create_backend, parse_engine_args
    from mgreason.eval.cache import ResponseCache, default_cache_path
    from mgreason.eval.plan import build_requests, workload
    from mgreason.eval.run import check_out_dir, run_scenario
    from mgreason.scenario import load_scenario

    if backend not in backend_names():
        raise MGReasonError(f"unknown backend {backend!r}; choose one of: {', '.join(backend_names())}", field="--backend")
    if out is not None:
        check_out_dir(out)
    # writable before the model loads and everything is scored (the default: a new runs/<run-id>/)
    require_writable(out if out is not None else Path("runs"), directory=True, field="--out")
    set_interrupt_note(
        "no run directory was written; the answers computed so far are in the response cache, so the same "
        "command again skips them" if cache else "no run directory was written; run the same command again"
    )
    sc = load_scenario(scenario, recordings=_recordings(), items_path=items)
    requests = build_requests(sc, limit=limit, seed=seed)  # renders (and so validates) every prompt first
    rcache = ResponseCache(default_cache_path()) if cache else None  # an unusable cache: one line, before the work
    console.print(
        f"[bold]{sc.id}[/]: {len({r.item_id for r in requests})} items × {len(sc.conditions)} conditions "
        f"= {len(requests)} prompts; backend {backend}, model {model or 'default'}"
    )
    engine_args = parse_engine_args(engine_arg)
    urls = list(base_url or [])
    options = {"base_url": urls[0] if len(urls) == 1 else None, "base_urls": urls if len(urls) > 1 else None,
               "api_key": api_key, "concurrency": concurrency}
    options = {k: v for k, v in options.items() if v is not None}
    if adapter is not None:
        if backend not in ("hf", "vllm"):
            raise MGReasonError("--adapter needs --backend hf or vllm (an OpenAI-compatible server loads adapters "
                                "itself: `vllm serve --enable-lora --lora-modules NAME=DIR`, then --model NAME)",
                                field="--adapter")  # fmt: skip
        options["adapter"] = str(adapter)
    try:
        # --model: resolved here (one error line for a bad name or path), then the backend loads what it names
        target = model
        if backend in ("hf", "vllm"):
            from mgreason.models.resolve import resolve_model

            target = resolve_model(model)
        be = create_backend(backend, target, engine_args=engine_args or None, workload=workload(sc, requests), **options)
    except BaseException:
        if rcache is not None:
            rcache.close()
        raise
    try:
        with _Progress(len(requests), "scoring") as prog:
            result = run_scenario(
                sc,
                be,
                out_dir=out,
                limit=limit,
                seed=seed,
                requests=requests,
                progress=prog.advance,
                n_boot=n_boot,
                cache=rcache,
                batch_size=batch_size or None,
                options=options,
                engine_args=engine_args,
                ceiling=ceiling,
            )
    finally:
        be.close()
        if rcache is not None:
            rcache.close()
    print((result.run_dir / "summary.md").read_text(encoding="utf-8"))
    _print_flags(result.summary)
    if result.totals.cached:
        console.print(f"{result.totals.cached} of {len(requests)} answers came from the response cache (--no-cache to recompute)")
    console.print(f"wrote {result.run_dir}/ (config.json, samples.jsonl, summary.json, summary.md)")
    failed = [r for r in result.records if r.error is not None]
    if failed:
        # exit 1 when any request failed, as `sweep` does; everything that succeeded is written above
        if cache:
            # failed answers never reach the response cache (eval.cache stores successes only)
            again = "the same command again" + (" with a new --out" if out is not None else "")
            retry = f"{again} asks the model only for the failed ones (the others come from the response cache)"
        else:
            retry = "with --no-cache the same command again recomputes every request"
        eg = escape(printable(str(failed[0].error)))
        what = (
            f"every request failed ({len(failed)} of {len(failed)}, e.g. {eg}): the statistics above mean nothing"
            if len(failed) == len(result.records)
            else f"{len(failed)} of {len(result.records)} requests failed (e.g. {eg}) and count as wrong above"
        )
        console.print(
            f"[red]error:[/] {what}; {retry}",
            highlight=False,
        )
        raise typer.Exit(1)


@app.command()
def validate(paths: List[Path] = typer.Argument(..., help="scenario YAML files or directories of them")) -> None:
    """Validate scenarios: spec, templates, items, transcripts, and every rendered prompt."""
    from mgreason.eval.plan import build_requests
    from mgreason.scenario import load_scenario

    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files += sorted(list(p.glob("*.yaml")) + list(p.glob("*.yml")))
        else:
            files.append(p)
    if not files:
        raise MGReasonError("no scenario files found", file=", ".join(map(str, paths)))
    if len(files) == 1:
        sc = load_scenario(files[0], recordings=_recordings())
        reqs = build_requests(sc)
        print(f"ok  {files[0]}  ({sc.id} v{sc.spec.version}: {len(sc.items)} items, {len(sc.conditions)} conditions, {len(reqs)} prompts)")
        return
    # several files: check every one (one error line each), then a summary; exit 2 if any failed
    from rich.markup import escape

    failed = 0
    for f in files:
        try:
            sc = load_scenario(f, recordings=_recordings())
            reqs = build_requests(sc)
        except MGReasonError as e:
            failed += 1
            console.print(f"[red]error:[/] {escape(printable(str(e)))}", highlight=False, soft_wrap=True)
            continue
        print(f"ok  {f}  ({sc.id} v{sc.spec.version}: {len(sc.items)} items, {len(sc.conditions)} conditions, {len(reqs)} prompts)")
    print(f"{len(files)} scenario files: {len(files) - failed} valid" + (f", {failed} invalid" if failed else ""))
    if failed:
        raise typer.Exit(2)


@app.command("show-prompt")
def show_prompt(
    scenario: Path = typer.Argument(..., help="scenario YAML file"),
    item: Optional[str] = typer.Option(None, "--item", help="item id (default: the first item)"),
    condition: Optional[str] = typer.Option(None, "--condition", "-c", help="condition (default: all)"),
    seed: int = typer.Option(0, "--seed"),
    as_json: bool = typer.Option(False, "--json", help="print the messages as JSON"),
    content_free: bool = typer.Option(
        False, "--content-free", help="the content-free prompts that `mgreason calibrate --contextual` scores instead of an item's"
    ),
) -> None:
    """Print exactly the messages the model sees for one item."""
    from mgreason.eval.plan import build_requests
    from mgreason.scenario import load_scenario

    sc = load_scenario(scenario, recordings=_recordings())
    names = [c.name for c in sc.conditions]
    if condition is not None and condition not in names:
        raise MGReasonError(f"unknown condition {condition!r}; this scenario has {', '.join(names)}", field="--condition")
    if content_free:
        from mgreason.eval.contextual import content_free_requests

        reqs = content_free_requests(sc, seed=seed, conditions=None if condition is None else [condition])
    else:
        item_id = item or sc.items[0].id
        sc.item(item_id)  # clear error if unknown
        reqs = [r for r in build_requests(sc, seed=seed) if r.item_id == item_id and (condition is None or r.condition == condition)]
    if as_json:
        print(json.dumps([{"condition": r.condition, "prompt_sha256": r.prompt_sha256, "messages": r.messages} for r in reqs], indent=2, ensure_ascii=False))
        return
    for r in reqs:
        print(f"===== item {printable(r.item_id)} · condition {r.condition} · sha256 {r.prompt_sha256[:16]} =====")
        for m in r.messages:
            print(f"--- {m['role']} ---")
            print(m["content"])
        print()


@app.command()
def schema() -> None:
    """Print the JSON Schema of the scenario file format."""
    from mgreason.scenario.spec import ScenarioSpec

    print(json.dumps(ScenarioSpec.model_json_schema(), indent=2))


def _register_plugins() -> None:
    """Command groups that live next to the code they drive."""
    import importlib

    for mod in (
        "mgreason.synth.cli",
        "mgreason.recognizer.cli",
        "mgreason.transcribe.cli",
        "mgreason.authoring.datasets_cli",
        "mgreason.authoring.cli",
        "mgreason.sweep.cli",
        "mgreason.view.cli",
        "mgreason.viz.cli",
        "mgreason.models.cli",
        "mgreason.eval.calibration_cli",
        "mgreason.analyze.cli",
        "mgreason.adapt.cli",
    ):
        try:
            module = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name and mod.startswith(e.name):
                continue
            raise
        module.register(app)


_register_plugins()

_default_showwarning = warnings.showwarning


def _interrupted() -> None:
    from rich.markup import escape

    from mgreason.errors import interrupt_note

    console.print(f"[yellow]interrupted:[/] {escape(interrupt_note())}", highlight=False, soft_wrap=True)
    sys.exit(130)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    from rich.markup import escape

    from mgreason.errors import MGReasonWarning

    if issubclass(category, MGReasonWarning):
        console.print(f"[yellow]warning:[/] {escape(printable(str(message)))}", highlight=False, soft_wrap=True)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


def main() -> None:
    warnings.showwarning = _show_warning
    try:
        # standalone_mode=False: Typer *returns* an exit code instead of exiting — 130 when Ctrl-C
        # interrupted a command (it catches the KeyboardInterrupt itself), or the code of a
        # ``typer.Exit`` — and None when the command returned normally.
        rv = app(standalone_mode=False)
    except MGReasonError as e:
        from rich.markup import escape

        # escaped: a path or an item id such as "a[1]" or "[/x]" is text, not Rich markup
        console.print(f"[red]error:[/] {escape(printable(str(e)))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:  # outside a command (while the CLI itself loads)
        _interrupted()
    except SystemExit:
        raise
    except OSError as e:
        import errno

        if e.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS):
            raise
        from rich.markup import escape

        # writers use temporary names (mgreason.fileio): what was being written is gone, not half there
        where = f"{e.filename}: " if e.filename else ""
        console.print(
            f"[red]error:[/] {escape(printable(where))}cannot write: {e.strerror or e} (nothing half-written was kept "
            "under a final name; free space and run the same command again)",
            highlight=False, soft_wrap=True,
        )
        sys.exit(2)
    except Exception as e:  # click usage errors
        if isinstance(e, _click_classes("ClickException")):
            e.show()
            sys.exit(e.exit_code)
        if isinstance(e, _click_classes("Abort")):
            sys.exit(1)
        raise
    if rv == 130 and not isinstance(rv, bool):
        _interrupted()
    if isinstance(rv, int) and not isinstance(rv, bool) and rv != 0:
        sys.exit(rv)


def _click_classes(name: str) -> tuple[type, ...]:
    """click's exception class ``name``, from click and from the copy recent typer versions vendor
    (``typer._click``), whose usage errors are not click's."""
    import importlib

    classes = []
    for mod in ("click.exceptions", "typer._click.exceptions"):
        try:
            classes.append(getattr(importlib.import_module(mod), name))
        except (ImportError, AttributeError):
            pass
    return tuple(classes)


def console_main() -> None:
    """The ``mgreason`` console script: :func:`main`, then leave without the interpreter's finalisation.

    Once a command has written everything, tearing down the modules of torch, transformers and scipy still took
    1.0-1.7 s of wall time on 2 cores (``mgreason analyze``, issue 25) -- a cost paid after the work, by every
    command that loaded a model. The exit handlers still run (logging, temporary directories, Ray's shutdown),
    the streams are flushed, and a live non-daemon thread gets the normal exit that waits for it. In-process
    callers (tests) use :func:`main`, which returns or raises ``SystemExit`` as before.
    """
    try:
        main()
        code: object = 0
    except SystemExit as e:
        code = e.code
    if isinstance(code, bool) or not isinstance(code, int):
        if code is not None:
            print(code, file=sys.stderr)  # what SystemExit("message") prints
        code = 0 if code is None else 1
    _fast_exit(code)


def _fast_exit(code: int) -> None:
    import atexit
    import threading

    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away (``mgreason ... | head``), a closed stream
            pass
    os._exit(code)


if __name__ == "__main__":
    console_main()
