"""Does the bounded sandbox slow normal rendering? Renders every item × condition prompt of the
shipped scenarios (whose items are present) with the previous environment (Jinja's plain
``SandboxedEnvironment``, ``Template.render``) and with the bounded one
(``LimitedSandboxEnvironment`` + ``render_limited``), interleaved, best of several repeats.

    python benchmarks/bench_render_sandbox.py [--repeats 7] [--out benchmarks/results/render_sandbox.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mgreason.errors import MGReasonError  # noqa: E402
from mgreason.scenario import load_scenario  # noqa: E402
from mgreason.scenario import render as R  # noqa: E402


def _old_env(d: str) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(d), undefined=jinja2.StrictUndefined, autoescape=False,
        keep_trailing_newline=False, trim_blocks=True, lstrip_blocks=True,
    )  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "render_sandbox.md"))
    args = ap.parse_args()

    jobs = []  # (name, [(old_template, new_template, variables)])
    for path in sorted((REPO / "scenarios").glob("*.yaml")):
        try:
            sc = load_scenario(path)
        except MGReasonError:
            continue  # e.g. imigue_emotion without the dataset
        work = []
        for tpath in [t for t in (sc.system_template, sc.user_template) if t is not None]:
            old_t = _old_env(str(tpath.parent)).get_template(tpath.name)
            new_t = R._environment(str(tpath.parent.resolve())).get_template(tpath.name)
            for item in sc.items:
                for cond in sc.conditions:
                    work.append((old_t, new_t, R.template_variables(sc, item, cond, item.transcript)))
        jobs.append((sc.id, work))

    rows = []
    for name, work in jobs:
        for old_t, new_t, v in work:  # same text from both
            assert old_t.render(**v) == R.render_limited(new_t, v)
        t_old, t_new = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            for old_t, _n, v in work:
                old_t.render(**v)
            t_old.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for _o, new_t, v in work:
                R.render_limited(new_t, v)
            t_new.append(time.perf_counter() - t0)
        n = len(work)
        rows.append((name, n, min(t_old) / n * 1e6, min(t_new) / n * 1e6, statistics.median(t_old) / n * 1e6,
                     statistics.median(t_new) / n * 1e6))  # fmt: skip

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "# Template sandbox limits: cost on normal rendering",
        "",
        f"`python benchmarks/bench_render_sandbox.py --repeats {args.repeats}` — {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, Jinja {jinja2.__version__}; "
        f"1-min load average at the end {load:.1f} (a shared machine: several engineers ran tests and builds meanwhile, "
        "so absolute times are noisy; old and new are interleaved and both take the best of the repeats).",
        "",
        "Per rendered template (every item × condition of each shipped scenario whose items are present; "
        "the texts are checked identical):",
        "",
        "| scenario | renders | old best µs | bounded best µs | old median µs | bounded median µs | best ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, n, ob, nb, om, nm in rows:
        lines.append(f"| {name} | {n} | {ob:.1f} | {nb:.1f} | {om:.1f} | {nm:.1f} | {nb / ob:.2f} |")
    lines += [
        "",
        "old: `SandboxedEnvironment` + `Template.render`; bounded: `LimitedSandboxEnvironment` + `render_limited` "
        "(loop guard on every `for`, checked operators/calls/filters, output counted per chunk, time checked).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
