"""`mgreason analyze` on one recording: is it transcribe time + LLM time + a little (issue 25)? Numbers printed,
not a test.

    python benchmarks/bench_analyze.py [--recording PATH] [--task deception] [--dialogue FILE] [--model M]
                                       [--out benchmarks/results/analyze.md]

Default recording: the shared 30-s OpenPose sample (``../shared/data/imigue/openpose_298_first30s``, iMiGUE
video 298, one subject). Each run is a fresh ``mgreason analyze ... --json`` process (what a user runs):

1. **cold**: an empty transcript cache and an empty response cache: the recording is transcribed and every
   prompt is scored;
2. **warm transcripts**: the same command again with ``--no-cache``: the transcript comes from the cache, the
   LLM scores again.

Per run: the process's wall time, and from analyze's own ``timings_s``: transcription (recognizer load +
reading + scoring + segmentation), LLM (model load + scoring), and the rest = wall - transcription - LLM
(interpreter start, imports, hashing, scenario, prompts, statistics, writing the run directory). The load
average is printed next to the numbers (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_RECORDING = REPO.parent / "shared" / "data" / "imigue" / "openpose_298_first30s"


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def run(args: list[str], env: dict[str, str]) -> tuple[float, dict]:
    cmd = [str(Path(sys.executable).parent / "mgreason"), "analyze", *args, "--json"]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=env["BENCH_CWD"])
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"analyze failed ({p.returncode}):\n{p.stderr[-3000:]}")
    data = json.loads(p.stdout)
    data["cpu_s"] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return wall, data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recording", type=Path, default=DEFAULT_RECORDING)
    ap.add_argument("--task", default="deception")
    ap.add_argument("--dialogue", type=Path)
    ap.add_argument("--model")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    if not a.recording.exists():
        sys.exit(f"no recording at {a.recording}")
    tmp = Path(tempfile.mkdtemp(prefix="mgreason-bench-analyze-"))
    env = dict(os.environ, MGREASON_TRANSCRIPT_CACHE=str(tmp / "transcripts"), BENCH_CWD=str(tmp),
               MGREASON_RESPONSE_CACHE=str(tmp / "responses.sqlite"), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")  # fmt: skip
    base = [str(a.recording.resolve()), "--task", a.task]
    if a.dialogue:
        base += ["--dialogue", str(a.dialogue.resolve())]
    if a.model:
        base += ["--model", a.model]
    rows = []
    for name, extra in (("cold", ["--out", str(tmp / "run1")]), ("warm transcripts", ["--out", str(tmp / "run2"), "--no-cache"])):
        before = _load()
        wall, data = run(base + extra, env)
        llm_data = data
        t = data["timings_s"]
        llm = t["load_llm_s"] + t["score_s"]
        rest = wall - t["transcribe_s"] - llm
        rows.append((name, wall, t["transcribe_s"], llm, t["load_llm_s"], rest, data["recordings"][0]["transcript_cached"],
                     f"{before} / {_load()}", data["cpu_s"]))  # fmt: skip
        print(name, json.dumps(t), f"process CPU {data['cpu_s']:.1f} s", file=sys.stderr)
    # the same command on the mock backend (no model): everything analyze does besides transcribing and the LLM
    mock = []
    for _ in range(3):
        wall, data = run(base + ["--backend", "mock", "--out", str(tmp / f"mock{len(mock)}")], env)
        mock.append((wall, data["cpu_s"]))
    lines = [
        f"recording: `{a.recording.name}`, task {a.task}, model {llm_data['model']}; {len(llm_data['recordings'][0]['answers'])} "
        f"prompts per run",
        "",
        "| run | wall s | process CPU s | transcription s | LLM s (load) | rest s | transcript cached | load avg before / after |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for name, wall, tr, llm, load_llm, rest, cached, load, cpu in rows:
        lines.append(f"| {name} | {wall:.1f} | {cpu:.1f} | {tr:.1f} | {llm:.1f} ({load_llm:.1f}) | {rest:.1f} | {cached} | {load} |")
    best = min(mock)
    lines += ["", f"mock backend, cached transcript (everything but transcription and the LLM, interpreter start "
              f"included), best of 3: wall {best[0]:.1f} s, process CPU {best[1]:.1f} s; load {_load()}"]
    text = "\n".join(lines)
    print(text)
    if a.out:
        a.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
