"""``mgreason analyze``: recordings → transcripts (cached) → unlabelled items of a task scenario → the
evaluation engine (one run directory, like ``run-scenario``) → one :class:`Verdict` per recording."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from mgreason.analyze.items import Recording, scenario_override
from mgreason.analyze.recordings import RecordingTranscriber
from mgreason.eval.unlabelled import label_probs, margin

__all__ = ["ConditionAnswer", "Verdict", "Analysis", "prepare", "run_analysis", "verdicts"]

EVENT_LINES = 5  # timeline lines shown per recording


@dataclass
class ConditionAnswer:
    condition: str
    answer: Optional[str]
    probs: Optional[dict[str, float]]  # label probabilities normalised over the label set
    margin: Optional[float]  # log p(first label) - max log p(other)
    label_mass: Optional[float]
    evidence_from: Optional[str]
    error: Optional[str] = None


@dataclass
class Verdict:
    """What the model concluded about one recording, without and with its micro-gesture evidence."""

    id: str
    recording: str
    kind: str
    duration_s: Optional[float]
    n_events: int
    events: list[str]  # the first lines of the timeline
    transcript: Optional[str]
    transcript_cached: Optional[bool]
    dialogue: Optional[str]
    n_turns: int
    answers: dict[str, ConditionAnswer]
    baseline: str  # the no-evidence condition
    treatment: str  # the own-evidence condition

    @property
    def without(self) -> ConditionAnswer:
        return self.answers[self.baseline]

    @property
    def with_(self) -> ConditionAnswer:
        return self.answers[self.treatment]

    def prob_shift(self) -> Optional[dict[str, float]]:
        a, b = self.without.probs, self.with_.probs
        if a is None or b is None:
            return None
        return {k: b[k] - a[k] for k in a}

    def margin_shift(self) -> Optional[float]:
        a, b = self.without.margin, self.with_.margin
        return None if a is None or b is None else b - a

    @property
    def changed(self) -> bool:
        return self.without.answer != self.with_.answer


@dataclass
class Analysis:
    task: str
    scenario: Any  # mgreason.scenario.Scenario
    labels: list[str]
    model: str
    backend: str
    run_dir: Path
    verdicts: list[Verdict]
    summary: Any  # RunSummary
    cached_answers: int
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def prepare(
    scenario_path: Path,
    recordings: Sequence[Recording],
    *,
    checkpoint: Optional[str] = None,
    context: Optional[str] = None,
    subject: Optional[str] = None,
    transcriber: Optional[RecordingTranscriber] = None,
):
    """The scenario with the recordings as its unlabelled items (transcribed now, or read from the cache)."""
    from mgreason.scenario.loader import load_scenario, load_spec

    spec = load_spec(scenario_path)
    override = scenario_override(spec, recordings, checkpoint=checkpoint, context=context, subject=subject)
    return load_scenario(scenario_path, recordings=transcriber or RecordingTranscriber(), override=override)


def _pick(conditions: Sequence[Any]) -> tuple[str, str]:
    base = next(c.name for c in conditions if c.evidence == "none")
    treat = next(c.name for c in conditions if c.evidence != "none" and c.transcript == "own")
    return base, treat


def verdicts(scenario: Any, records: Sequence[Any], recordings: Sequence[Recording]) -> list[Verdict]:
    labels = scenario.labels
    base, treat = _pick(scenario.conditions)
    by_item: dict[str, dict[str, Any]] = {}
    for r in records:
        by_item.setdefault(r.item_id, {})[r.condition] = r
    dialogue_of = {r.id: r for r in recordings}
    out = []
    for it in scenario.items:
        recs = by_item.get(it.id, {})
        answers = {
            c: ConditionAnswer(
                condition=c,
                answer=r.prediction,
                probs=label_probs(r.label_logprobs, labels),
                margin=margin(r.label_logprobs, labels),
                label_mass=r.label_mass,
                evidence_from=r.evidence_from,
                error=r.error,
            )
            for c, r in recs.items()
        }
        tr = it.transcript
        prov = it.provenance or {}
        rec = dialogue_of.get(it.id)
        lines = tr.render().splitlines() if tr is not None else []
        out.append(
            Verdict(
                id=it.id,
                recording=prov.get("recording", str(it.recording)),
                kind=prov.get("kind", "?"),
                duration_s=tr.duration_s if tr is not None else None,
                n_events=len(tr.events) if tr is not None else 0,
                events=lines[:EVENT_LINES] if tr is not None and tr.events else [],
                transcript=str(it.transcript_path) if it.transcript_path else None,
                transcript_cached=prov.get("cached"),
                dialogue=str(rec.dialogue_path) if rec is not None and rec.dialogue_path else None,
                n_turns=len(rec.dialogue or []) if rec is not None else 0,
                answers=answers,
                baseline=base,
                treatment=treat,
            )
        )
    return out


def run_analysis(
    scenario_path: Path,
    recordings: Sequence[Recording],
    *,
    task: str,
    model: Optional[str] = None,
    backend: str = "hf",
    checkpoint: Optional[str] = None,
    context: Optional[str] = None,
    subject: Optional[str] = None,
    out_dir: Optional[Path] = None,
    seed: int = 0,
    cache: bool = True,
    engine_args: Optional[dict[str, Any]] = None,
    transcriber: Optional[RecordingTranscriber] = None,
    on_scenario: Optional[Callable[[Any, int], None]] = None,
    progress: Optional[Callable[[int], None]] = None,
) -> Analysis:
    """Transcribe (cached), build the items, score them through the evaluation engine, read the verdicts."""
    from mgreason.backends import create_backend
    from mgreason.eval.cache import ResponseCache, default_cache_path
    from mgreason.eval.plan import build_requests
    from mgreason.eval.run import run_scenario

    t0 = time.perf_counter()
    transcriber = transcriber or RecordingTranscriber()
    sc = prepare(scenario_path, recordings, checkpoint=checkpoint, context=context, subject=subject, transcriber=transcriber)
    t1 = time.perf_counter()
    requests = build_requests(sc, seed=seed)
    if on_scenario is not None:
        on_scenario(sc, len(requests))
    t2 = time.perf_counter()
    be = create_backend(backend, model, engine_args=engine_args or None)
    rcache = ResponseCache(default_cache_path()) if cache else None
    t3 = time.perf_counter()
    try:
        result = run_scenario(
            sc, be, out_dir=out_dir, seed=seed, requests=requests, cache=rcache, engine_args=engine_args,
            n_boot=2000, progress=progress,
        )  # fmt: skip
        info = be.model_info()
    finally:
        be.close()
        if rcache is not None:
            rcache.close()
    t4 = time.perf_counter()
    timings = {
        "prepare_s": t1 - t0,  # hashing, transcript cache, transcription
        "transcribe_s": transcriber.timings["transcribe"] + transcriber.timings["load_model"],
        "hash_s": transcriber.timings["hash"],
        "render_s": t2 - t1,
        "load_llm_s": t3 - t2,
        "score_s": result.totals.seconds,
        "run_s": t4 - t3,
    }
    return Analysis(
        task=task,
        scenario=sc,
        labels=sc.labels,
        model=info.id,
        backend=backend,
        run_dir=result.run_dir,
        verdicts=verdicts(sc, result.records, recordings),
        summary=result.summary,
        cached_answers=result.totals.cached,
        timings=timings,
        warnings=list(result.summary.warnings),
    )
