"""Does the bounded sandbox slow normal rendering? Renders every item × condition prompt of the
shipped scenarios (whose items are present) with the previous environment (Jinja's plain
``SandboxedEnvironment``, ``Template.render``) and with the bounded one
(``LimitedSandboxEnvironment`` + ``render_limited``), interleaved, several repeats (best and median).

``--before FILE`` also times another version of ``mgreason/scenario/render.py`` (e.g.
``git show COMMIT:mgreason/scenario/render.py > /tmp/render_before.py``) in the same interleaved
rounds, to measure a change of the sandbox on a loaded machine.

    python benchmarks/bench_render_sandbox.py [--repeats 7] [--before FILE] [--out benchmarks/results/render_sandbox.md]
"""

from __future__ import annotations

import argparse
import importlib.util
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


def _load_module(path: str, name: str = "render_before"):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--before", default=None, help="another render.py to time in the same rounds (a previous version)")
    ap.add_argument("--before-label", default="before", help="its name in the table (e.g. a commit)")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "render_sandbox.md"))
    args = ap.parse_args()
    renderers = {"bounded": R}
    if args.before:
        renderers = {args.before_label: _load_module(args.before), "bounded": R}

    jobs = []  # (name, [(old_template, {renderer: template}, variables)])
    for path in sorted((REPO / "scenarios").glob("*.yaml")):
        try:
            sc = load_scenario(path)
        except MGReasonError:
            continue  # e.g. imigue_emotion without the dataset
        work = []
        for tpath in [t for t in (sc.system_template, sc.user_template) if t is not None]:
            old_t = _old_env(str(tpath.parent)).get_template(tpath.name)
            news = {k: m._environment(str(tpath.parent.resolve())).get_template(tpath.name) for k, m in renderers.items()}
            for item in sc.items:
                for cond in sc.conditions:
                    work.append((old_t, news, R.template_variables(sc, item, cond, item.transcript)))
        jobs.append((sc.id, work))

    names = ["plain", *renderers]
    rows = []
    for name, work in jobs:
        for old_t, news, v in work:  # the same text from every renderer
            assert all(old_t.render(**v) == renderers[k].render_limited(t, v) for k, t in news.items())
        times: dict[str, list[float]] = {k: [] for k in names}
        for _ in range(args.repeats):  # interleaved: each round times every renderer once
            t0 = time.perf_counter()
            for old_t, _n, v in work:
                old_t.render(**v)
            times["plain"].append(time.perf_counter() - t0)
            for k, mod in renderers.items():
                render = mod.render_limited
                t0 = time.perf_counter()
                for _o, news, v in work:
                    render(news[k], v)
                times[k].append(time.perf_counter() - t0)
        n = len(work)
        rows.append((name, n, {k: (min(t) / n * 1e6, statistics.median(t) / n * 1e6) for k, t in times.items()}))

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cmd = f"python benchmarks/bench_render_sandbox.py --repeats {args.repeats}"
    if args.before:
        cmd += f" --before {args.before} --before-label {args.before_label}"
    head = "| scenario | renders | " + " | ".join(f"{k} median µs" for k in names) + " | "
    head += " | ".join(f"{k} best µs" for k in names) + " | " + " | ".join(f"{k}/plain median" for k in names[1:]) + " |"
    lines = [
        "# Template sandbox limits: cost on normal rendering",
        "",
        f"`{cmd}` — {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, Jinja {jinja2.__version__}; "
        f"1-min load average at the end {load:.1f} (a busy machine has other jobs running, "
        "so absolute times are noisy; the renderers are interleaved round by round).",
        "",
        "Per rendered template (every item × condition of each shipped scenario whose items are present; "
        "the texts are checked identical):",
        "",
        head,
        "|---|---:|" + "---:|" * (3 * len(names) - 1),
    ]
    for name, n, st in rows:
        med = " | ".join(f"{st[k][1]:.1f}" for k in names)
        best = " | ".join(f"{st[k][0]:.1f}" for k in names)
        ratio = " | ".join(f"{st[k][1] / st['plain'][1]:.2f}" for k in names[1:])
        lines.append(f"| {name} | {n} | {med} | {best} | {ratio} |")
    lines += [
        "",
        "plain: Jinja's `SandboxedEnvironment` + `Template.render` (no limits); bounded: `LimitedSandboxEnvironment` + "
        "`render_limited` (loop guard on every `for`, checked operators/calls/filters, output counted per chunk, time "
        "checked)" + (f"; {args.before_label}: the same from `{args.before}`." if args.before else "."),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
