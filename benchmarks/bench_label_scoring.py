"""Closed-set label scoring speed: efficient path vs one-forward-per-label vs lm-eval.

Prints numbers; not a test. Usage::

    python benchmarks/bench_label_scoring.py [--model SPEC] [--rounds 3] [--no-reference] [--no-lmeval]

* "efficient"  -- ``HFBackend.score_labels`` (prompt forwarded once, KV cache reused for the
  labels, prefix shared with the previous prompt, LM head at the last position only);
* "reference"  -- ``HFBackend.score_labels_reference`` (one full forward per (prompt, label));
* "lm-eval"    -- lm-evaluation-harness ``hf`` backend (``HFLM``, batch_size=1), when
  ``lm_eval`` is importable, on the same prompt texts: ``loglikelihood`` with requests
  (context=prompt_text, continuation=label). lm-eval moves the context's trailing
  whitespace (the chat template's final ``\\n``) into the continuation, so its scores
  include log P("\\n"); for an equal-log-prob comparison our token engine
  (``HFBackend.score_tokens``) is also timed on lm-eval's own token pairs
  (``HFLM._encode_pair``), and |delta| is reported on those.

Rounds are interleaved (ours, lm-eval, ours-on-lm-eval-tokens) and medians reported,
because timing noise on a shared 2-core VM is +-15-20%.

Prompts: by default the demo scenario's (``scenarios/demo_press_emotion.yaml``: 12 items x 3
conditions, rendered by ``mgreason.eval.plan.build_requests`` exactly as ``run-scenario`` sends them,
its labels); ``--prompts builtin`` uses the longer built-in prompt set (``default_prompts()``) with a
binary and a 7-way label set; ``--scenario`` points at another scenario.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mgreason.backends.base import Message  # noqa: E402

print = functools.partial(print, flush=True)  # noqa: A001 - progress shows up when piped

BINARY_LABELS = ["positive", "negative"]
MULTI_LABELS = ["relaxed", "confident", "mildly stressed", "very anxious", "frustrated"]

SYSTEM_PROMPT = (
    "You are an expert in affective computing and non-verbal behaviour. You will read an excerpt from a "
    "press conference: the questions asked and the speaker's answers, transcribed verbatim. Some excerpts "
    "also come with a transcript of the speaker's micro-gestures, detected automatically from the video "
    "(time span, gesture, detector confidence). Micro-gestures are brief, mostly unconscious body movements "
    "such as scratching the head, touching the nose, rubbing the hands or crossing the arms; they can reveal "
    "stress, discomfort or relaxation that the words hide. Detector output can be wrong. Judge the speaker's "
    "hidden emotional state from all the information you are given, and answer with the label only."
)

# (speaker, role, topic, dialogue turns, micro-gesture transcript)
ITEMS = [
    (
        "Coach Dana Reyes",
        "head coach",
        "a 3-0 home defeat in the league semi-final",
        [
            "Reporter: Coach, three goals conceded at home in a semi-final. What happened out there tonight?",
            "Dana Reyes: We, uh, we didn't execute the plan. The guys worked hard, I'll give them that, but "
            "the details weren't there, and at this level the details decide everything.",
            "Reporter: Your captain said after the game that the tactics were confusing. Is there a problem "
            "in the dressing room?",
            "Dana Reyes: No. No, there's no problem. We talk every day. I'm not going to comment on what "
            "somebody said in the heat of the moment.",
            "Reporter: The board meets on Monday. Are you worried about your position?",
            "Dana Reyes: I'm focused on the next game. That's all I can control. Next question, please.",
        ],
        [
            "00:04.2-00:05.1 touching nose (0.71)",
            "00:11.8-00:13.0 rubbing hands (0.64)",
            "00:19.5-00:21.9 scratching neck (0.82)",
            "00:26.0-00:27.2 crossing arms (0.58)",
            "00:31.4-00:32.0 pressing lips (0.77)",
        ],
    ),
    (
        "Mira Solberg",
        "tennis player",
        "winning her first Grand Slam title",
        [
            "Reporter: Mira, congratulations. How does it feel to hold this trophy after so many near misses?",
            "Mira Solberg: Honestly, it still hasn't sunk in. I kept looking at the scoreboard thinking "
            "someone would tell me there was one more set to play.",
            "Reporter: You were a break down in the third set. What went through your mind?",
            "Mira Solberg: I just told myself to breathe and play one point at a time. My coach always says "
            "the scoreboard is the last thing you should look at, so I tried not to.",
            "Reporter: Your family flew in this morning. What did they say?",
            "Mira Solberg: My dad cried, which he never does. It was really special to share it with them.",
        ],
        [
            "00:02.0-00:03.5 smiling with head tilt (0.88)",
            "00:09.7-00:10.4 touching hair (0.52)",
            "00:15.1-00:16.8 open palms gesture (0.79)",
            "00:22.3-00:23.0 shoulder shrug (0.61)",
        ],
    ),
    (
        "Minister Paul Okafor",
        "finance minister",
        "a leaked audit of the national infrastructure fund",
        [
            "Reporter: Minister, the leaked audit says forty million is unaccounted for. Did you know about it?",
            "Paul Okafor: The audit is a draft. Drafts contain open questions, and those questions are being "
            "answered as we speak. I have full confidence in the process.",
            "Reporter: Your deputy signed three of the contracts the audit flags. Will he step aside?",
            "Paul Okafor: Nobody is stepping aside on the basis of a draft document that was leaked, frankly, "
            "for political reasons.",
            "Reporter: Will you publish the final audit in full?",
            "Paul Okafor: We will publish what is appropriate to publish, when it is appropriate.",
        ],
        [
            "00:03.3-00:04.0 adjusting collar (0.69)",
            "00:08.6-00:10.2 touching face (0.74)",
            "00:14.9-00:15.5 swallowing (0.55)",
            "00:20.1-00:22.4 rubbing forehead (0.81)",
            "00:27.7-00:28.3 looking down (0.66)",
        ],
    ),
    (
        "Dr. Lena Hartmann",
        "lead researcher",
        "the launch of a new weather satellite",
        [
            "Reporter: Dr. Hartmann, the launch was delayed twice. Were you nervous this morning?",
            "Lena Hartmann: Nervous is a strong word. We had a very good team and a very good rocket. "
            "Of course, until separation you never really relax.",
            "Reporter: When will the first images come in?",
            "Lena Hartmann: Commissioning takes about six weeks, so the first calibrated images should "
            "arrive in early spring. We're very excited about the resolution.",
            "Reporter: What does this mean for forecasting?",
            "Lena Hartmann: Better storm warnings, mainly. Hours earlier than today, which saves lives.",
        ],
        [
            "00:01.8-00:02.6 nodding (0.84)",
            "00:07.4-00:08.1 smiling (0.79)",
            "00:12.9-00:14.0 open palms gesture (0.72)",
            "00:18.3-00:18.9 touching hair (0.49)",
        ],
    ),
    (
        "Jonas Albrecht",
        "team principal",
        "a disqualification after the race for an illegal floor",
        [
            "Reporter: Jonas, both cars disqualified. Did the team knowingly run an illegal floor?",
            "Jonas Albrecht: Absolutely not. We disagree with the stewards' interpretation and we will "
            "appeal. The wear on the plank was within what we consider normal.",
            "Reporter: The stewards say it was two millimetres over the limit on both cars.",
            "Jonas Albrecht: Measurements after a wet race are not straightforward. We'll present our data.",
            "Reporter: Your sponsors are reportedly unhappy. Have you spoken to them?",
            "Jonas Albrecht: We have a strong relationship with all our partners. I won't go into private "
            "conversations.",
        ],
        [
            "00:05.0-00:06.3 clenching fist (0.63)",
            "00:10.2-00:11.1 touching nose (0.58)",
            "00:16.6-00:18.0 crossing arms (0.86)",
            "00:23.4-00:24.1 biting lip (0.71)",
            "00:28.9-00:30.2 scratching head (0.77)",
        ],
    ),
    (
        "Aisha Karimi",
        "festival director",
        "record attendance at the city film festival",
        [
            "Reporter: Aisha, a record one hundred thousand visitors. Did you expect this?",
            "Aisha Karimi: We hoped, but no, not this many. The open-air screenings really took off.",
            "Reporter: Some residents complained about noise near the harbour venue.",
            "Aisha Karimi: We heard them, and next year we'll finish the late screenings earlier. "
            "It's their city too.",
            "Reporter: What's the highlight for you personally?",
            "Aisha Karimi: Seeing a packed square watching a silent film with a live orchestra. Magical.",
        ],
        [
            "00:02.4-00:03.7 smiling (0.91)",
            "00:08.8-00:09.5 leaning forward (0.60)",
            "00:14.0-00:14.6 touching chin (0.54)",
            "00:19.9-00:21.2 open palms gesture (0.75)",
        ],
    ),
]

CONDITIONS = ("no_evidence", "microgesture", "mismatched")


def build_prompt(item: int, condition: str, labels: list[str]) -> list[Message]:
    speaker, role, topic, turns, gestures = ITEMS[item]
    parts = [
        f"Press conference: {speaker}, {role}, about {topic}.",
        "",
        "Dialogue:",
        *turns,
    ]
    if condition == "microgesture":
        evidence = gestures
    elif condition == "mismatched":
        evidence = ITEMS[(item + 1) % len(ITEMS)][4]
    else:
        evidence = None
    if evidence is not None:
        parts += ["", f"Micro-gesture transcript for {speaker} (start-end, gesture, detector confidence):", *evidence]
    parts += [
        "",
        f"Question: What is {speaker}'s hidden emotional state? Answer with one of: {', '.join(labels)}.",
    ]
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(parts)}]


def default_prompts(labels: list[str] = BINARY_LABELS) -> list[list[Message]]:
    """Every item under every condition, condition-major (as an experiment runner would list them).

    Swap for the demo scenario later, e.g. ``[r.messages for r in build_requests(scenario)]``.
    """
    return [build_prompt(i, c, labels) for c in CONDITIONS for i in range(len(ITEMS))]


# --------------------------------------------------------------------------- measurement


def _timed(fn, rounds: int):
    times, result = [], None
    for _ in range(rounds):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return result, times


def _max_delta(a: list[dict[str, float]], b: list[dict[str, float]]) -> float:
    return max(abs(x[k] - y[k]) for x, y in zip(a, b) for k in x)


def _fmt(name: str, secs: list[float], n_items: int, n_req: int) -> str:
    med = statistics.median(secs)
    rng = f"{min(secs):.2f}-{max(secs):.2f}" if len(secs) > 1 else f"{secs[0]:.2f}"
    return (
        f"  {name:<34} {med:7.2f} s median ({rng}, n={len(secs)})  "
        f"{n_items / med:6.2f} items/s  {n_req / med:6.2f} req/s"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model spec (default: the embedded SmolLM2-135M-Instruct)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds (default 3)")
    ap.add_argument("--no-reference", action="store_true", help="skip the slow one-forward-per-label method")
    ap.add_argument("--no-lmeval", action="store_true", help="skip lm-evaluation-harness even if installed")
    ap.add_argument("--prompts", choices=["demo", "builtin"], default="demo",
                    help="the demo scenario's prompts (default) or the built-in set")  # fmt: skip
    ap.add_argument("--scenario", type=Path, default=Path(__file__).resolve().parents[1] / "scenarios" / "demo_press_emotion.yaml")
    ap.add_argument("--labels", choices=["binary", "multi", "both"], default="both", help="with --prompts builtin")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)

    import torch

    from mgreason.backends.hf import HFBackend

    t0 = time.perf_counter()
    backend = HFBackend(args.model, dtype="float32", threads=args.threads)  # lm-eval below runs float32 too
    info = backend.model_info()
    print(f"model: {info.id} -> {info.resolved} (sha256 {str(info.sha256)[:12]}, {info.dtype})")
    print(
        f"load: {time.perf_counter() - t0:.1f} s; torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"cpus {os.cpu_count()}"
    )

    lm = None
    if not args.no_lmeval:
        try:
            import lm_eval  # noqa: F401
            from lm_eval.api.instance import Instance
            from lm_eval.models.huggingface import HFLM
        except Exception as exc:  # noqa: BLE001
            print(f"lm-eval: not importable ({type(exc).__name__}: {exc}); skipped")
        else:
            from importlib.metadata import version

            pretrained = backend._load_path  # the embedded model's converted HF dir (or the model's own path)
            t0 = time.perf_counter()
            lm = HFLM(pretrained=pretrained, dtype="float32", batch_size=1, device="cpu")
            torch.set_num_threads(backend.threads)
            print(f"lm-eval {version('lm_eval')}: HFLM(pretrained={pretrained}) loaded in {time.perf_counter() - t0:.1f} s")

    # warm-up (first forwards pay one-off kernel/allocator set-up)
    warm = default_prompts(BINARY_LABELS)[:1]
    backend.score_labels(warm, BINARY_LABELS)
    backend.score_labels_reference(warm, BINARY_LABELS)

    if args.prompts == "demo":
        from mgreason.eval.plan import build_requests
        from mgreason.scenario import load_scenario

        scenario = load_scenario(args.scenario)
        preqs = build_requests(scenario)
        prompt_sets = {scenario.spec.id: (scenario.labels, [r.messages for r in preqs])}
        shape = f"{len(scenario.items)} items x {len(scenario.conditions)} conditions of {args.scenario.name}"
    else:
        label_sets = {"binary": BINARY_LABELS, "multi": MULTI_LABELS}
        if args.labels != "both":
            label_sets = {args.labels: label_sets[args.labels]}
        prompt_sets = {k: (v, default_prompts(v)) for k, v in label_sets.items()}
        shape = f"{len(ITEMS)} items x {len(CONDITIONS)} conditions (built-in)"
    summary = []
    for name, (labels, prompts) in prompt_sets.items():
        n, n_req = len(prompts), len(prompts) * len(labels)
        eff = backend.score_labels(prompts, labels)
        errs = [r.error for r in eff if r.error]
        if errs:
            print(f"errors: {errs[:3]}")
            return 1
        texts = [r.prompt_text for r in eff]
        ntok = [r.n_prompt_tokens for r in eff]
        label_toks = [len(backend.continuation_tokens(texts[0], backend.encode(texts[0]), lab)) for lab in labels]
        print()
        print(
            f"== {name}: labels {labels} (tokens per label {label_toks}); {n} prompts = {shape}; "
            f"prompt tokens {min(ntok)}-{max(ntok)} (total {sum(ntok)})"
        )
        times: dict[str, list[float]] = {"efficient": [], "lm-eval": [], "ours@lm-eval-tokens": []}
        lm_scores = ours_tok = None
        if lm is not None:
            from lm_eval.api.instance import Instance

            reqs = [
                Instance(request_type="loglikelihood", doc={}, arguments=(t, lab), idx=j)
                for t in texts
                for j, lab in enumerate(labels)
            ]
            pairs = [lm._encode_pair(t, lab) for t in texts for lab in labels]
            ctxs = [pairs[k * len(labels)][0] for k in range(n)]
            conts = [[pairs[k * len(labels) + j][1] for j in range(len(labels))] for k in range(n)]
            assert all(pairs[k * len(labels) + j][0] == ctxs[k] for k in range(n) for j in range(len(labels)))
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            eff = backend.score_labels(prompts, labels)
            times["efficient"].append(time.perf_counter() - t0)
            if lm is not None:
                t0 = time.perf_counter()
                lm_out = lm.loglikelihood(reqs, disable_tqdm=True)
                times["lm-eval"].append(time.perf_counter() - t0)
                lm_scores = [float(x[0]) for x in lm_out]
                t0 = time.perf_counter()
                ours_tok = backend.score_tokens(ctxs, conts)
                times["ours@lm-eval-tokens"].append(time.perf_counter() - t0)
        eff_scores = [r.label_logprobs for r in eff]
        print(_fmt("efficient (score_labels)", times["efficient"], n, n_req))
        if not args.no_reference:
            ref, t_ref = _timed(lambda: backend.score_labels_reference(prompts, labels), 1)
            d = _max_delta(eff_scores, [r.label_logprobs for r in ref])
            print(_fmt("reference (1 forward / label)", t_ref, n, n_req))
            sp = statistics.median(t_ref) / statistics.median(times["efficient"])
            print(f"  -> efficient is {sp:.2f}x reference; max |delta logp| efficient vs reference = {d:.2e}")
            summary.append((name, "reference", sp, d))
        if lm is not None:
            flat_ours = [s for per in ours_tok for s in per]
            d_tok = max(abs(a - b) for a, b in zip(flat_ours, lm_scores))
            flat_eff = [r[lab] for r in eff_scores for lab in labels]
            d_api = max(abs(a - b) for a, b in zip(flat_eff, lm_scores))
            print(_fmt("lm-eval HFLM.loglikelihood (bs 1)", times["lm-eval"], n, n_req))
            print(_fmt("ours, lm-eval's token requests", times["ours@lm-eval-tokens"], n, n_req))
            med_lm = statistics.median(times["lm-eval"])
            sp_tok = med_lm / statistics.median(times["ours@lm-eval-tokens"])
            sp_api = med_lm / statistics.median(times["efficient"])
            print(
                f"  -> same token requests: ours {sp_tok:.2f}x lm-eval, max |delta logp| = {d_tok:.2e}; "
                f"score_labels {sp_api:.2f}x lm-eval (lm-eval's scores also include log P('\\n'), the "
                f"context's trailing newline moved into the continuation: max |delta| to score_labels {d_api:.2e})"
            )
            summary.append((name, "lm-eval", sp_tok, d_tok))
    print()
    for name, other, sp, d in summary:
        print(f"summary [{name}]: efficient {sp:.2f}x {other}, max |delta logp| {d:.2e}")
    backend.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
