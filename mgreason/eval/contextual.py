"""Contextual calibration (Zhao et al., 2021, "Calibrate Before Use"): an extra column, never a replacement.

A model's preference for one label under a prompt *template* is estimated by asking it the same
template with the content taken out: every text of the item replaced by a content-free string
(``N/A``, the empty string, ``[MASK]``, as in the paper) and the micro-gesture evidence replaced by one
event with that string as its gesture (no events for the empty string). For each condition, the
label probabilities (normalised over the labels) are averaged over the content-free strings; the
calibrated prediction of an item is ``argmax_label log p(label) − log p̄_cf(label)``.

The content-free prompts go through the same rendering path as every other prompt (same templates,
condition, demonstrations drawn for the query id ``content-free``), so ``mgreason show-prompt
SCENARIO --content-free`` prints exactly what is scored, and their sha256 are recorded in
``calibrated.json``. Scoring needs the run's model again (``mgreason calibrate RUN --contextual``);
answers come from the response cache when they were scored before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from mgreason.errors import MGReasonError
from mgreason.eval.scoring import scores_every_label
from mgreason.scenario.loader import Item, Scenario
from mgreason.scenario.render import PromptRequest, prompt_sha256, render_messages
from mgreason.transcript import MGEvent, Transcript

CONTENT_FREE: tuple[str, ...] = ("N/A", "", "[MASK]")
QUERY_ID = "content-free"


def _blank(value: Any, text: str) -> Any:
    """``value`` with every string in it replaced by ``text`` (structure, numbers and keys kept)."""
    if isinstance(value, str):
        return text
    if isinstance(value, dict):
        return {k: _blank(v, text) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_blank(v, text) for v in value]
    return value


def content_free_item(like: Item, text: str) -> Item:
    """An item shaped like ``like`` whose texts are all ``text``; its transcript is one ``text`` event (none for "")."""
    events = [] if text == "" else [MGEvent(start_s=0.0, end_s=1.0, label=text, confidence=1.0, source=_source(like))]
    transcript = Transcript(id=QUERY_ID, duration_s=like.transcript.duration_s if like.transcript else None, events=events)
    fields = _blank(dict(like.fields), text)
    return Item(id=QUERY_ID, gold=like.gold, transcript=transcript, fields=fields)


def _source(like: Item) -> str:
    ev = like.transcript.events if like.transcript is not None else []
    return ev[0].source if ev else "annotation"


def content_free_requests(
    scenario: Scenario, seed: int = 0, conditions: Optional[Sequence[str]] = None
) -> list[PromptRequest]:
    """The content-free prompts of every condition (one per content-free string), through the shared
    rendering path. ``item_id`` is ``content-free:<string>``."""
    from mgreason.eval.plan import demonstration_shots

    if not scenario.items:
        raise MGReasonError("the scenario has no items to take the prompt's shape from", file=scenario.path)
    shots = demonstration_shots(scenario, seed)
    like = scenario.items[0]
    out = []
    for cond in scenario.conditions:
        if conditions is not None and cond.name not in conditions:
            continue
        for text in CONTENT_FREE:
            item = content_free_item(like, text)
            messages = render_messages(
                scenario, item, cond, None if cond.evidence == "none" else item.transcript, shots(QUERY_ID, cond)
            )
            out.append(
                PromptRequest(
                    item_id=f"{QUERY_ID}:{text}",
                    condition=cond.name,
                    messages=messages,
                    prompt_sha256=prompt_sha256(messages),
                    gold="",
                    evidence_from=None,
                )
            )
    return out


def _normalised(logprobs: dict[str, float], labels: Sequence[str]) -> dict[str, float]:
    m = max(logprobs[lab] for lab in labels)
    lse = m + math.log(sum(math.exp(logprobs[lab] - m) for lab in labels))
    return {lab: logprobs[lab] - lse for lab in labels}


@dataclass
class ContextualFit:
    """Per condition, log of the mean (over the content-free strings) label probability normalised over the labels."""

    offsets: dict[str, dict[str, float]]
    prompts: list[dict[str, Any]]  # per content-free prompt: condition, text, prompt_sha256, label log-probs


def fit_contextual(
    requests: Sequence[PromptRequest], label_logprobs: Sequence[Optional[dict[str, float]]], labels: Sequence[str]
) -> ContextualFit:
    """The offsets from the content-free prompts' label log-probs (a missing answer is an error: no partial fit)."""
    probs: dict[str, list[dict[str, float]]] = {}
    prompts = []
    for req, lp in zip(requests, label_logprobs):
        if not scores_every_label(lp, labels):
            raise MGReasonError(
                f"no label log-probs for the content-free prompt {req.item_id!r} under {req.condition}; "
                "the calibration needs every one of them"
            )
        norm = _normalised(lp, labels)
        probs.setdefault(req.condition, []).append({lab: math.exp(v) for lab, v in norm.items()})
        prompts.append(
            {
                "condition": req.condition,
                "text": req.item_id.split(":", 1)[1],
                "prompt_sha256": req.prompt_sha256,
                "label_logprobs": dict(lp),
            }
        )
    offsets = {
        c: {lab: math.log(max(sum(p[lab] for p in ps) / len(ps), 1e-300)) for lab in labels} for c, ps in probs.items()
    }
    return ContextualFit(offsets=offsets, prompts=prompts)


def score_content_free(
    scenario: Scenario, backend: Any, *, seed: int = 0, conditions: Optional[Sequence[str]] = None, cache: Any = None,
    options: Optional[dict[str, Any]] = None, engine_args: Optional[dict[str, Any]] = None,
) -> ContextualFit:  # fmt: skip
    """Score the content-free prompts on ``backend`` (through the engine: response cache, retryable errors)."""
    from mgreason.eval.cache import model_identity
    from mgreason.eval.engine import Engine
    from mgreason.eval.plan import generation_params
    from mgreason.eval.store import MemoryAttempts, MemoryStore

    requests = content_free_requests(scenario, seed=seed, conditions=conditions)
    mkey = None
    if cache is not None:
        mkey = cache.register_model(model_identity(backend.name, backend.model_info(), options, engine_args))
    engine = Engine(
        backend=backend, scenario=scenario, run_id="content-free", store=MemoryStore(), attempts=MemoryAttempts(),
        cache=cache, model_key=mkey,
    )  # fmt: skip
    results, _ = engine.answer(requests, generation_params(scenario))
    for req, res in zip(requests, results):
        if res.error is not None:
            raise MGReasonError(f"the model failed on the content-free prompt {req.item_id!r} ({req.condition}): {res.error}")
    return fit_contextual(requests, [r.label_logprobs for r in results], scenario.labels)


__all__ = [
    "CONTENT_FREE",
    "ContextualFit",
    "content_free_item",
    "content_free_requests",
    "fit_contextual",
    "score_content_free",
]
