"""Items/s on the demo scenario: hf vs vllm (in process) vs openai (a vLLM server), same model, same prompts.

Prints numbers; not a test. Usage (from the main virtualenv; vLLM runs in ``.venv-vllm``)::

    python benchmarks/bench_backends.py [--limit N] [--mode logprobs|generate] [--backends hf,vllm,openai]
                                        [--model M] [--dtype auto|float32|bfloat16] [--imigue N]
                                        [--vllm-passes batched,per_prompt,no_prefix_cache]
                                        [--vllm-python PATH] [--json out.json]

* ``--model``: any model spec (default: the embedded SmolLM2); ``--dtype auto`` (default) lets both
  backends pick their dtype by the same policy (bf16 on CPUs with AMX / AVX-512 BF16), as
  ``run-scenario`` does; the vLLM engine is sized to the prompts (the run's workload), as ``run-scenario``
  does; the openai server row always runs the embedded model;
* ``--imigue N``: the first N iMiGUE test videos x 4 conditions instead of the demo (items built from
  ``../shared/data/imigue`` as benchmarks/imigue_emotion.py does);
* ``--vllm-passes``: what the vLLM rows measure, one engine per prefix-cache setting:
  ``batched`` (every prompt in one ``score_labels`` call: vLLM schedules them together), ``per_prompt``
  (one call per prompt, after ``reset_prefix_cache()``: no batching across prompts), ``no_prefix_cache``
  (a second engine with ``enable_prefix_caching=False``, every prompt in one call).

* every backend gets the same requests (``mgreason.eval.plan.build_requests``: items x conditions,
  item-major) in one call (``score_labels``, or ``generate`` with the labels as choices);
* ``hf``: ``HFBackend`` in this process (fp32, torch threads = usable CPUs);
* ``vllm``: ``VLLMBackend`` in a subprocess of the vLLM interpreter (``$MGREASON_VLLM_PYTHON`` or
  ``.venv-vllm/bin/python``), ``--vllm-dtype`` (default float32), label scoring ``next_token``;
* ``openai``: a vLLM OpenAI-compatible server started here on 127.0.0.1 (same dtype), and the
  ``OpenAIBackend`` of this process against it (concurrency 8); the server is always stopped.

One timed run per backend (no warm-up), after the model is loaded: "load" is the engine / server
start, "run" the scoring call. Agreement with hf: same predictions, and max |delta log-prob|.
Timing noise on a shared 2-core VM is large (+-20% and worse under load): compare runs made
together, and report the machine's load average with them (printed).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEMO = REPO / "scenarios" / "demo_press_emotion.yaml"
CPU_ENV = {
    "VLLM_CPU_OMP_THREADS_BIND": "0-1",
    "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",
    "VLLM_CPU_KVCACHE_SPACE": "1",
    "HF_HUB_OFFLINE": "1",
}

VLLM_DRIVER = r'''
import json, sys, time


def main():
    t0 = time.perf_counter()
    from mgreason.backends import create_backend
    from mgreason.eval.plan import build_requests, generation_params
    from mgreason.scenario import load_scenario

    from mgreason.eval.plan import workload

    scenario, limit, mode, dtype, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    model, passes, keep = (sys.argv[6] or None), sys.argv[7].split(","), json.loads(sys.argv[8])
    sc = load_scenario(scenario)
    reqs = [r for r in build_requests(sc, limit=limit or None) if not keep or r.item_id in keep]
    prompts = [r.messages for r in reqs]
    rows = {}
    for caching in (True, False):
        todo = [p for p in passes if (p != "no_prefix_cache") == caching]
        if not todo:
            continue
        engine_args = {} if dtype == "auto" else {"dtype": dtype}
        engine_args["enable_prefix_caching"] = caching
        t1 = time.perf_counter()
        be = create_backend("vllm", model, engine_args=engine_args, workload=workload(sc, reqs))
        load = time.perf_counter() - t1
        info = be.model_info()
        try:
            for p in todo:
                be.llm.reset_prefix_cache()
                t2 = time.perf_counter()
                if mode == "logprobs" and p == "per_prompt":
                    res = [be.score_labels([m], sc.labels)[0] for m in prompts]
                elif mode == "logprobs":
                    res = be.score_labels(prompts, sc.labels)
                else:
                    res = be.generate(prompts, generation_params(sc), choices=sc.labels)
                rows[p] = {"import_s": t1 - t0, "load_s": load, "run_s": time.perf_counter() - t2,
                           "dtype": info.dtype, "max_model_len": info.extra["max_model_len"],
                           "label_logits": info.extra.get("label_logits"),
                           "results": [{"label_logprobs": r.label_logprobs, "text": r.text, "error": r.error} for r in res]}
        finally:
            be.close()
    json.dump(rows, open(out, "w"))


if __name__ == "__main__":
    main()
'''


def _hf_policy() -> str:
    from mgreason.backends.hf import default_dtype

    return default_dtype("cpu")[0]


def vllm_python(explicit: Optional[str]) -> Optional[str]:
    cand = explicit or os.environ.get("MGREASON_VLLM_PYTHON") or str(REPO / ".venv-vllm" / "bin" / "python")
    return cand if Path(cand).is_file() else None


def env() -> dict:
    e = dict(os.environ)
    for k, v in CPU_ENV.items():
        e.setdefault(k, v)
    return e


def predictions(results: list[dict], labels: list[str], mode: str) -> list[Optional[str]]:
    from mgreason.eval.scoring import argmax_label

    out = []
    for r in results:
        if r.get("error"):
            out.append(None)
        elif mode == "logprobs":
            out.append(argmax_label(r["label_logprobs"], labels))
        else:
            out.append(r["text"] if r["text"] in labels else None)
    return out


def agreement(ref: list[dict], other: list[dict], labels: list[str], mode: str) -> dict:
    pa, pb = predictions(ref, labels, mode), predictions(other, labels, mode)
    agree = sum(a == b and a is not None for a, b in zip(pa, pb))
    d: dict[str, Any] = {"agree": f"{agree}/{len(pa)}"}
    if mode == "logprobs":
        d["max_abs_delta_logprob"] = max(
            (abs(a["label_logprobs"][k] - b["label_logprobs"][k]) for a, b in zip(ref, other)
             if a.get("label_logprobs") and b.get("label_logprobs") for k in labels),
            default=float("nan"),
        )  # fmt: skip
    return d


def as_dicts(results) -> list[dict]:
    return [{"label_logprobs": r.label_logprobs, "text": r.text, "error": r.error} for r in results]


def run_hf(sc, prompts, mode: str, params, model=None, dtype="auto") -> dict:
    from mgreason.backends import create_backend

    t0 = time.perf_counter()
    be = create_backend("hf", model, dtype=None if dtype == "auto" else dtype)  # same policy as vLLM's
    load = time.perf_counter() - t0
    info = be.model_info()
    try:
        t1 = time.perf_counter()
        res = be.score_labels(prompts, sc.labels) if mode == "logprobs" else be.generate(prompts, params, choices=sc.labels)
        run = time.perf_counter() - t1
    finally:
        be.close()
    return {"load_s": load, "run_s": run, "results": as_dicts(res), "dtype": info.dtype,
            "label_logits": info.extra.get("label_logits")}


def run_vllm(py: str, scenario: Path, limit: int, mode: str, dtype: str, model=None, passes=("batched",), keep=()) -> dict:
    with tempfile.TemporaryDirectory() as d:
        script, out = Path(d) / "driver.py", Path(d) / "out.json"
        script.write_text(VLLM_DRIVER, encoding="utf-8")
        proc = subprocess.run([py, str(script), str(scenario), str(limit), mode, dtype, str(out), model or "",
                               ",".join(passes), json.dumps(list(keep))], cwd=REPO, env=env(),
                              capture_output=True, text=True)  # fmt: skip
        if proc.returncode != 0:
            raise SystemExit(f"vllm run failed:\n{proc.stderr[-3000:]}")
        return json.loads(out.read_text())


def run_openai(py: str, sc, prompts, mode: str, params, dtype: str) -> dict:
    dtype = "bfloat16" if dtype == "auto" and _hf_policy() == "bfloat16" else ("float32" if dtype == "auto" else dtype)
    import httpx

    from mgreason.backends import create_backend
    from mgreason.models.resolve import embedded_hf_dir

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tempfile.NamedTemporaryFile(prefix="vllm-server-", suffix=".log", delete=False)
    cmd = [py, "-m", "vllm.entrypoints.openai.api_server", "--model", str(embedded_hf_dir()),
           "--served-model-name", "smollm2", "--host", "127.0.0.1", "--port", str(port), "--dtype", dtype,
           "--max-model-len", "4096", "--seed", "0", "--enforce-eager", "--enable-prefix-caching",
           "--generation-config", "vllm"]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env(), start_new_session=True)
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"the vLLM server exited ({proc.returncode}); log: {log.name}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        load = time.perf_counter() - t0
        be = create_backend("openai", "smollm2", base_url=f"http://127.0.0.1:{port}/v1", concurrency=8)
        t1 = time.perf_counter()
        res = be.score_labels(prompts, sc.labels) if mode == "logprobs" else be.generate(prompts, params, choices=sc.labels)
        run = time.perf_counter() - t1
        be.close()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
    return {"load_s": load, "run_s": run, "results": as_dicts(res)}


def imigue_test_scenario(n: int, tmp: Path) -> tuple[Path, list[str]]:
    """The iMiGUE scenario on test items built from ../shared/data/imigue, and the first ``n`` item ids."""
    import yaml

    data = REPO.parent / "shared" / "data" / "imigue"
    if not (data / "labels_20200831.csv").is_file():
        raise SystemExit(f"no iMiGUE data under {data}")
    out = tmp / "imigue"
    subprocess.run([sys.executable, "-m", "mgreason.cli", "imigue", "build-items", "--labels",
                    str(data / "labels_20200831.csv"), "--splits", str(data / "splits.json"), "--out", str(out)],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    scen = REPO / "scenarios" / "imigue_emotion.yaml"
    spec = yaml.safe_load(scen.read_text(encoding="utf-8"))
    for k in ("system", "user"):
        if spec["prompts"].get(k):
            spec["prompts"][k] = str((scen.parent / spec["prompts"][k]).resolve())
    spec["items"]["path"] = str(out / "test.jsonl")
    spec["items"].pop("obtain", None)
    path = tmp / "imigue_test.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    ids = [json.loads(line)["id"] for line in (out / "test.jsonl").read_text().splitlines() if line.strip()][:n]
    return path, ids


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=0, help="only the first N items (default: all 12)")
    ap.add_argument("--mode", choices=["logprobs", "generate"], default="logprobs",
                    help="label log-probs, or generation constrained to the labels")  # fmt: skip
    ap.add_argument("--backends", default="hf,vllm,openai")
    ap.add_argument("--model", default=None, help="model spec (default: the embedded SmolLM2)")
    ap.add_argument("--dtype", default="auto", help="auto (each backend's policy: the same) or a dtype for both")
    ap.add_argument("--vllm-dtype", default=None, help="the vllm engine's and the server's dtype (default: --dtype)")
    ap.add_argument("--imigue", type=int, default=0, help="the first N iMiGUE test videos instead of the demo")
    ap.add_argument("--vllm-passes", default="batched", help="batched,per_prompt,no_prefix_cache")
    ap.add_argument("--vllm-python", default=None)
    ap.add_argument("--json", default=None, help="also write the numbers here")
    args = ap.parse_args()
    vdtype = args.vllm_dtype or args.dtype

    from mgreason.eval.plan import build_requests, generation_params
    from mgreason.scenario import load_scenario

    tmp = tempfile.TemporaryDirectory()
    scenario, keep = DEMO, []
    if args.imigue:
        scenario, keep = imigue_test_scenario(args.imigue, Path(tmp.name))
    sc = load_scenario(scenario)
    reqs = [r for r in build_requests(sc, limit=args.limit or None) if not keep or r.item_id in keep]
    prompts = [r.messages for r in reqs]
    params = generation_params(sc)
    n_items = len({r.item_id for r in reqs})
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    py = vllm_python(args.vllm_python)
    if py is None and any(b in backends for b in ("vllm", "openai")):
        print("no vLLM interpreter (bash scripts/setup_vllm_cpu.sh): running hf only", file=sys.stderr)
        backends = [b for b in backends if b == "hf"]

    print(f"{sc.id}: {n_items} items x {len(sc.conditions)} conditions = {len(prompts)} prompts; mode {args.mode}; "
          f"model {args.model or 'embedded SmolLM2'}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    rows: dict[str, dict] = {}
    ref_name = None
    for b in backends:
        if b == "hf":
            r = run_hf(sc, prompts, args.mode, params, args.model, args.dtype)
            ref_name = f"hf ({r['dtype']})"
            rows[ref_name] = r
        elif b == "vllm":
            out = run_vllm(py, scenario, args.limit, args.mode, vdtype, args.model, args.vllm_passes.split(","), keep)
            for p, r in out.items():
                rows[f"vllm in-process ({r['dtype']}, max_model_len {r['max_model_len']}, {p.replace('_', ' ')})"] = r
        elif b == "openai":
            rows[f"openai -> vLLM server ({vdtype}, embedded model)"] = run_openai(py, sc, prompts, args.mode, params, vdtype)
        else:
            raise SystemExit(f"unknown backend {b!r}")
    ref = rows.get(ref_name) if ref_name else None
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    print("\n| backend | load / start (s) | run (s) | items/s | prompts/s | errors | vs hf |")
    print("|---|---:|---:|---:|---:|---:|---|")
    summary = {}
    for name, r in rows.items():
        errors = sum(1 for x in r["results"] if x.get("error"))
        vs = agreement(ref["results"], r["results"], sc.labels, args.mode) if ref and r is not ref else {}
        vs_s = ", ".join(f"{k} {v:.2g}" if isinstance(v, float) else f"{k} {v}" for k, v in vs.items()) or "-"
        print(f"| {name} | {r['load_s']:.1f} | {r['run_s']:.1f} | {n_items / r['run_s']:.3f} | "
              f"{len(prompts) / r['run_s']:.2f} | {errors} | {vs_s} |")  # fmt: skip
        summary[name] = {"load_s": r["load_s"], "run_s": r["run_s"], "items_per_s": n_items / r["run_s"],
                         "prompts_per_s": len(prompts) / r["run_s"], "errors": errors, **vs}  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    tmp.cleanup()


if __name__ == "__main__":
    main()
