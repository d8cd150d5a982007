"""The evaluation engine: the one place that turns planned cells into sample records.

``run-scenario`` (one model, one scenario, in process, records in memory) and every model process
of a sweep (records appended and fsync'ed on disk) run this same code:

1. split the pending cells into batches (an item's conditions stay together: they share a prompt prefix);
2. look each batch up in the response cache; ask the backend only for the misses, dispatching on the
   scenario's scoring mode (label log-probs, or generation with optional constrained choices);
3. store new successful answers in the cache; turn results into :class:`SampleRecord` s (predictions,
   correctness, errors);
4. retry failed requests up to ``retries`` times (attempts are logged, so a kill does not reset them);
   a request that still fails is recorded with its error and counted wrong, never dropped.

Only failures a retry can fix are retried: a :class:`~mgreason.errors.BackendError` or an I/O/timeout
error from a whole batch. Programming errors propagate (a crash, loudly), and running out of memory
aborts the run with :class:`~mgreason.backends.base.OutOfMemory`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from mgreason.backends.base import Backend, BackendResult, GenerationParams, raise_if_fatal
from mgreason.errors import BackendError
from mgreason.eval.cache import ResponseCache, generate_scoring, logprobs_scoring, request_key
from mgreason.eval.plan import generation_params
from mgreason.eval.label_mass import label_mass
from mgreason.eval.records import SampleRecord
from mgreason.eval.scoring import argmax_label, parse_answer, scores_every_label
from mgreason.eval.store import CellKey
from mgreason.scenario.loader import Scenario
from mgreason.scenario.render import PromptRequest

# failures of a whole batch that a retry may fix (anything else is a bug or fatal: it propagates)
RETRYABLE = (BackendError, OSError, TimeoutError, ConnectionError)


@dataclass(frozen=True)
class Cell:
    """One planned (condition, item, repeat) of one scenario, with its rendered request."""

    key: CellKey
    request: PromptRequest

    @property
    def repeat(self) -> int:
        return self.key[2]


def make_records(
    run_id: str, scenario: Scenario, requests: Sequence[PromptRequest], results: Sequence[BackendResult],
    repeats: Optional[Sequence[int]] = None,
) -> list[SampleRecord]:
    """Sample records from requests and backend results: prediction, correctness, error."""
    labels = scenario.labels
    mode = scenario.spec.scoring.mode
    records = []
    for i, (req, res) in enumerate(zip(requests, results, strict=True)):
        pred: Optional[str] = None
        error = res.error
        if error is None:
            if mode == "logprobs":
                if not scores_every_label(res.label_logprobs, labels):
                    error = "backend returned no log-probs for the label set"
                else:
                    pred = argmax_label(res.label_logprobs, labels)
            else:
                pred = parse_answer(res.text, scenario.spec.labels)
        records.append(
            SampleRecord(
                run_id=run_id,
                scenario_id=scenario.id,
                item_id=req.item_id,
                condition=req.condition,
                repeat=repeats[i] if repeats is not None else 0,
                prompt_sha256=req.prompt_sha256,
                messages=req.messages,
                prompt_text=res.prompt_text,
                evidence_from=req.evidence_from,
                raw_output=res.text,
                label_logprobs=res.label_logprobs,
                label_mass=label_mass(res.label_logprobs) if mode == "logprobs" else None,
                prediction=pred,
                gold=req.gold,
                correct=None if req.gold is None else (pred is not None and pred == req.gold),
                parse_ok=pred is not None,
                error=error,
            )
        )
    return records


def batches(cells: Sequence[Cell], size: Optional[int]) -> list[list[Cell]]:
    """Batches of about ``size`` cells (all of them when ``size`` is None), never splitting an item's
    conditions and never mixing repeats (a batch runs under one seed)."""
    out: list[list[Cell]] = []
    cur: list[Cell] = []
    cur_item: Optional[tuple[int, str]] = None
    for c in cells:
        item = (c.key[2], c.key[1])
        new_repeat = cur_item is not None and item[0] != cur_item[0]
        if cur and item != cur_item and ((size is not None and len(cur) >= size) or new_repeat):
            out.append(cur)
            cur = []
        cur.append(c)
        cur_item = item
    if cur:
        out.append(cur)
    return out


@dataclass
class BatchReport:
    """What one batch did (the sweep turns these into progress events)."""

    final: int = 0  # records written
    computed: int = 0  # requests sent to the backend
    cached: int = 0  # requests answered from the cache
    failed_attempts: int = 0
    final_failed: int = 0  # records written with an error (no retry left)
    seconds: float = 0.0


@dataclass
class Totals:
    computed: int = 0
    cached: int = 0
    failed_attempts: int = 0
    final_failed: int = 0
    seconds: float = 0.0

    def add(self, b: BatchReport) -> None:
        self.computed += b.computed
        self.cached += b.cached
        self.failed_attempts += b.failed_attempts
        self.final_failed += b.final_failed
        self.seconds += b.seconds


@dataclass
class Engine:
    """Runs the cells of one scenario on one loaded backend.

    ``store`` and ``attempts`` are a :class:`~mgreason.eval.store.RecordStore` / ``AttemptLog`` (on disk)
    or their in-memory twins. ``seeds[r]`` is added to the scenario's generation seed for repeat ``r``.
    ``before_write`` runs before every write (the sweep worker checks that its parent is alive).
    """

    backend: Backend
    scenario: Scenario
    run_id: str
    store: Any
    attempts: Any
    cache: Optional[ResponseCache] = None
    model_key: Optional[str] = None
    retries: int = 0
    batch_size: Optional[int] = None
    seeds: Sequence[int] = (0,)
    request_delay_s: float = 0.0
    progress: Optional[Callable[[int], None]] = None
    on_batch: Optional[Callable[[BatchReport], None]] = None
    before_write: Optional[Callable[[], None]] = None
    totals: Totals = field(default_factory=Totals)

    # ------------------------------------------------------------------ one request list
    def params(self, repeat: int) -> GenerationParams:
        sc = self.scenario
        return generation_params(sc, seed=sc.spec.generation.seed + self.seeds[repeat])

    def scoring(self, params: GenerationParams) -> dict[str, Any]:
        spec = self.scenario.spec.scoring
        if spec.mode == "logprobs":
            return logprobs_scoring(self.scenario.labels)
        return generate_scoring(params, self._choices())

    def _choices(self) -> Optional[list[str]]:
        spec = self.scenario.spec.scoring
        return self.scenario.labels if (spec.mode == "generate" and spec.constrain) else None

    def ask(self, requests: Sequence[PromptRequest], params: GenerationParams) -> list[BackendResult]:
        """The backend's answers (scoring-mode dispatch). A retryable failure of the whole call becomes an
        error result per request; anything else propagates."""
        prompts = [r.messages for r in requests]
        for _ in requests if self.request_delay_s else ():
            time.sleep(self.request_delay_s)
        try:
            if self.scenario.spec.scoring.mode == "logprobs":
                got = self.backend.score_labels(prompts, self.scenario.labels, progress=self.progress)
            else:
                got = self.backend.generate(prompts, params, choices=self._choices(), progress=self.progress)
        except RETRYABLE as exc:
            raise_if_fatal(exc)
            msg = f"{type(exc).__name__}: {exc}".splitlines()[0]
            return [BackendResult(error=msg) for _ in requests]
        except BaseException as exc:
            raise_if_fatal(exc)
            raise
        if len(got) != len(requests):
            raise RuntimeError(
                f"backend {self.backend.name} returned {len(got)} results for {len(requests)} requests"
            )
        return list(got)

    def answer(self, requests: Sequence[PromptRequest], params: GenerationParams) -> tuple[list[BackendResult], int]:
        """Answers from the cache where present, from the backend otherwise (stored in the cache when they
        succeed). Returns the results and how many were computed."""
        scoring = self.scoring(params)
        keys = None
        hits: dict[str, BackendResult] = {}
        if self.cache is not None and self.model_key is not None:
            keys = [request_key(self.model_key, scoring, r.prompt_sha256) for r in requests]
            hits = self.cache.get_many(self.model_key, keys)
        miss = [i for i in range(len(requests)) if keys is None or keys[i] not in hits]
        results: list[Optional[BackendResult]] = [hits.get(keys[i]) if keys else None for i in range(len(requests))]
        if miss:
            got = self.ask([requests[i] for i in miss], params)
            for i, res in zip(miss, got):
                results[i] = res
            if keys is not None:
                self.cache.put_many(
                    self.model_key, [(keys[i], requests[i].prompt_sha256, scoring, results[i]) for i in miss]
                )
        return results, len(miss)  # type: ignore[return-value]

    # ------------------------------------------------------------------ cells
    def run(self, cells: Sequence[Cell]) -> Totals:
        """Answer every cell not yet in the store; returns the totals of this call."""
        done = self.store.load(repair=True)
        logged = self.attempts.load(repair=True)
        attempts = {k: v.count for k, v in logged.items()}
        last_err = {k: v.last_error for k, v in logged.items()}
        pending = [c for c in cells if c.key not in done]

        # cells whose every attempt already failed (killed before their final record was written)
        exhausted = [c for c in pending if attempts.get(c.key, 0) > self.retries]
        if exhausted:
            recs = self._records(exhausted, [BackendResult(error=last_err.get(c.key) or "failed") for c in exhausted])
            self._write([], recs)
            self._report(BatchReport(final=len(recs), final_failed=len(recs)))
        todo = [c for c in pending if attempts.get(c.key, 0) <= self.retries]
        while todo:
            retry_next: list[Cell] = []
            for batch in batches(todo, self.batch_size):
                t0 = time.perf_counter()
                results, n_computed = self.answer([c.request for c in batch], self.params(batch[0].repeat))
                seconds = time.perf_counter() - t0
                recs = self._records(batch, results)
                final, fails, n_final_failed = [], [], 0
                for cell, rec in zip(batch, recs):
                    if rec.error is None:
                        final.append(rec)
                        continue
                    n = attempts.get(cell.key, 0) + 1
                    attempts[cell.key] = n
                    fails.append((cell.key, n, rec.error))
                    if n > self.retries:
                        final.append(rec)
                        n_final_failed += 1
                    else:
                        retry_next.append(cell)
                self._write(fails, final)
                self._report(BatchReport(final=len(final), computed=n_computed, cached=len(batch) - n_computed,
                                         failed_attempts=len(fails), final_failed=n_final_failed, seconds=seconds))
            todo = retry_next
        return self.totals

    def _records(self, cells: Sequence[Cell], results: Sequence[BackendResult]) -> list[SampleRecord]:
        return make_records(self.run_id, self.scenario, [c.request for c in cells], results, [c.repeat for c in cells])

    def _write(self, fails, final) -> None:
        if self.before_write is not None:
            self.before_write()
        if fails:
            self.attempts.append(fails)
        if final:
            self.store.append(final)

    def _report(self, b: BatchReport) -> None:
        self.totals.add(b)
        if self.on_batch is not None:
            self.on_batch(b)


__all__ = ["BatchReport", "Cell", "Engine", "RETRYABLE", "Totals", "batches", "make_records"]
