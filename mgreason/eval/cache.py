"""SQLite (WAL) response cache, keyed so that an answer is never reused for another model.

A cached answer is found only under the exact key it was computed with:

* the **model identity** (:func:`model_identity`): backend name, the model id as asked for,
  the sha256 of its weights (or the revision / resolved path when no hash is known), dtype,
  and every backend option or engine argument that can change results (everything except
  a short list of throughput/transport settings such as ``threads``);
* the **scoring**: ``logprobs`` + the label list, or ``generate`` + the generation parameters
  (+ the constrained choices);
* the sha256 of the **rendered prompt** (the chat messages, as in every sample record);
* for sampled generation only (temperature > 0), the sampling seed, so repeats stay distinct.

lm-evaluation-harness keys its cache on the request alone, so one database reused across
models silently returns model A's answers as model B's; here the model identity is part of
every key *and* stored beside it, and a lookup checks both.

Only successful results are stored; errors are always recomputed.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

from mgreason.backends.base import BackendResult, GenerationParams, ModelInfo
from mgreason.errors import MGReasonError

SCHEMA_VERSION = 1

# Options that change speed, memory or transport but never an answer: left out of the identity.
NON_SEMANTIC_OPTIONS = frozenset(
    {
        "threads",
        "num_threads",
        "batch_size",
        "max_batch_size",
        "timeout",
        "max_retries",
        "concurrency",
        "max_concurrency",
        "num_concurrent",
        "api_key",
        "api_key_env",
        "gpu_memory_utilization",
        "max_num_seqs",
        "max_num_batched_tokens",
        "swap_space",
        "cpu_offload_gb",
        "enforce_eager",
        "disable_log_stats",
        "port",
        "host",
    }
)


def _canon(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _sha(obj: Any) -> str:
    return hashlib.sha256(_canon(obj).encode("utf-8")).hexdigest()


def _semantic(options: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    return {k: options[k] for k in sorted(options or {}) if k not in NON_SEMANTIC_OPTIONS}


def model_identity(
    backend: str,
    info: ModelInfo,
    options: Optional[Mapping[str, Any]] = None,
    engine_args: Optional[Mapping[str, Any]] = None,
) -> dict[str, Any]:
    """What makes two runs "the same model" for caching purposes.

    A backend that computes label logits in another precision than its body (hf in bf16: float32 LM head)
    says so in ``extra["label_logits"]``; it is part of the identity then, so scores of the old bf16 head
    are never served for the float32 one (models whose logits are in their own dtype keep their keys).
    A LoRA adapter is identified by the sha256 of its weights (not its path): two adapters never share
    answers, and a moved adapter keeps its cache."""
    adapter = (info.extra or {}).get("adapter") if isinstance(info.extra, dict) else None
    if adapter:
        options = {k: v for k, v in (options or {}).items() if k != "adapter"}
    identity = {
        **({"adapter": adapter.get("sha256")} if adapter else {}),
        "schema": SCHEMA_VERSION,
        "backend": backend,
        "id": info.id,
        "sha256": info.sha256,
        "revision": info.revision,
        # without a weights hash, the resolved path / endpoint is the next best identity
        "resolved": None if info.sha256 else info.resolved,
        "dtype": info.dtype,
        "options": _semantic(options),
        "engine_args": _semantic(engine_args),
    }
    label_logits = (info.extra or {}).get("label_logits")
    if label_logits and label_logits != info.dtype:
        identity["label_logits"] = label_logits
    return identity


def model_key(identity: Mapping[str, Any]) -> str:
    return _sha(dict(identity))


def logprobs_scoring(labels: Sequence[str]) -> dict[str, Any]:
    return {"mode": "logprobs", "labels": list(labels)}


def generate_scoring(params: GenerationParams, choices: Optional[Sequence[str]] = None) -> dict[str, Any]:
    greedy = params.temperature == 0.0
    return {
        "mode": "generate",
        "temperature": params.temperature,
        "top_p": None if greedy else params.top_p,
        "max_new_tokens": params.max_new_tokens,
        "stop": list(params.stop),
        "choices": list(choices) if choices is not None else None,
        # the seed matters only when sampling
        "seed": None if greedy else params.seed,
    }


def request_key(mkey: str, scoring: Mapping[str, Any], prompt_sha256: str) -> str:
    """The cache key of one request: model identity × scoring/generation × rendered prompt."""
    return _sha({"model": mkey, "scoring": dict(scoring), "prompt": prompt_sha256})


def _result_to_json(r: BackendResult) -> str:
    return json.dumps(
        {
            "text": r.text,
            "label_logprobs": r.label_logprobs,
            "prompt_text": r.prompt_text,
            "n_prompt_tokens": r.n_prompt_tokens,
        },
        ensure_ascii=False,
    )


def _result_from_json(s: str) -> BackendResult:
    """A stored result; raises ``ValueError`` when the row is not one (a corrupt row is a cache miss)."""
    d = json.loads(s)
    if not isinstance(d, dict):
        raise ValueError("not an object")
    lp = d.get("label_logprobs")
    if lp is not None and not (
        isinstance(lp, dict) and all(isinstance(k, str) and isinstance(v, (int, float)) for k, v in lp.items())
    ):
        raise ValueError("label_logprobs is not a mapping of labels to numbers")
    if not isinstance(d.get("text"), (str, type(None))) or not isinstance(d.get("prompt_text"), (str, type(None))):
        raise ValueError("text is not a string")
    if not isinstance(d.get("n_prompt_tokens"), (int, type(None))):
        raise ValueError("n_prompt_tokens is not an integer")
    return BackendResult(
        text=d.get("text"),
        label_logprobs=d.get("label_logprobs"),
        prompt_text=d.get("prompt_text"),
        n_prompt_tokens=d.get("n_prompt_tokens"),
    )


def default_cache_path() -> Path:
    """The shared response cache: ``$MGREASON_RESPONSE_CACHE``, else ``$MGREASON_CACHE_DIR/responses.sqlite``
    (``~/.cache/mgreason/responses.sqlite``)."""
    import os

    env = os.environ.get("MGREASON_RESPONSE_CACHE")
    if env:
        return Path(env).expanduser().resolve()
    from mgreason.fileio import cache_dir

    return (cache_dir() / "responses.sqlite").resolve()


class CacheError(MGReasonError):
    """The response cache file cannot be used (not a database, damaged, a directory, disk full...)."""


@contextmanager
def _guard(path: Path, what: str) -> Iterator[None]:
    """SQLite and file-system errors of the cache as one :class:`CacheError` line with the way out."""
    try:
        yield
    except sqlite3.Error as e:
        raise CacheError(
            f"the response cache cannot be {what} ({e}); run with --no-cache, or move the file aside "
            "(a new cache is made in its place)",
            file=path,
        ) from None
    except OSError as e:
        raise CacheError(
            f"the response cache cannot be {what} ({e.strerror or e}); run with --no-cache, or free space / "
            "move the file aside",
            file=path,
        ) from None


class ResponseCache:
    """A response cache in one SQLite file (WAL journal: one writer and many readers at once).

    ``get_many``/``put_many`` work on whole batches, so each batch costs one transaction. A file that
    is not a usable cache is one :class:`CacheError` line; a corrupt row is a miss (asked again, then
    replaced).
    """

    def __init__(self, path: str | Path, timeout: float = 60.0):
        self.path = Path(path)
        with _guard(self.path, "opened"):
            if self.path.exists() and not self.path.is_file():
                raise CacheError(
                    "the response cache is not a regular file; run with --no-cache, or give --cache a file path",
                    file=self.path,
                )
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._open(timeout)

    def _open(self, timeout: float) -> None:
        self.corrupt_rows = 0  # rows found unreadable by get_many (treated as misses)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None, check_same_thread=False)
        self._db.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        self.journal_mode = str(self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS models (
                model_key TEXT PRIMARY KEY,
                identity  TEXT NOT NULL,
                created   REAL NOT NULL
            );
            CREATE TABLE IF NOT EXISTS responses (
                key           TEXT PRIMARY KEY,
                model_key     TEXT NOT NULL,
                prompt_sha256 TEXT NOT NULL,
                scoring       TEXT NOT NULL,
                result        TEXT NOT NULL,
                created       REAL NOT NULL
            );
            CREATE INDEX IF NOT EXISTS responses_model ON responses(model_key);
            """
        )
        self._db.execute("SELECT key, model_key, prompt_sha256, scoring, result, created FROM responses LIMIT 0")

    # ------------------------------------------------------------------ models
    def register_model(self, identity: Mapping[str, Any]) -> str:
        mkey = model_key(identity)
        with self._lock, _guard(self.path, "written"):
            self._db.execute(
                "INSERT OR IGNORE INTO models(model_key, identity, created) VALUES (?, ?, ?)",
                (mkey, _canon(dict(identity)), time.time()),
            )
        return mkey

    def models(self) -> dict[str, dict[str, Any]]:
        with self._lock, _guard(self.path, "read"):
            rows = self._db.execute("SELECT model_key, identity FROM models").fetchall()
        return {k: json.loads(v) for k, v in rows}

    # ------------------------------------------------------------------ responses
    def get_many(self, mkey: str, keys: Sequence[str]) -> dict[str, BackendResult]:
        """The cached results among ``keys`` (all computed by model ``mkey``)."""
        out: dict[str, BackendResult] = {}
        uniq = list(dict.fromkeys(keys))
        with self._lock, _guard(self.path, "read"):
            for i in range(0, len(uniq), 500):
                chunk = uniq[i : i + 500]
                q = f"SELECT key, model_key, result FROM responses WHERE key IN ({','.join('?' * len(chunk))})"
                for key, mk, result in self._db.execute(q, chunk):
                    if mk == mkey:  # a key embeds its model; check anyway: never another model's answer
                        try:
                            out[key] = _result_from_json(result)
                        except (ValueError, TypeError, RecursionError):
                            self.corrupt_rows += 1  # a miss: computed again and replaced by put_many
        return out

    def get(self, mkey: str, key: str) -> Optional[BackendResult]:
        return self.get_many(mkey, [key]).get(key)

    def put_many(self, mkey: str, entries: Iterable[tuple[str, str, Mapping[str, Any], BackendResult]]) -> int:
        """Store ``(key, prompt_sha256, scoring, result)`` entries. Only answers are stored: a result with an
        error, or a logprob result that does not score every label of its scoring, is asked again next time,
        never replayed."""
        from mgreason.eval.scoring import scores_every_label

        rows = [
            (key, mkey, psha, _canon(dict(scoring)), _result_to_json(res), time.time())
            for key, psha, scoring, res in entries
            if res.error is None
            and (scoring.get("mode") != "logprobs" or scores_every_label(res.label_logprobs, scoring["labels"]))
        ]
        if not rows:
            return 0
        with self._lock, _guard(self.path, "written"):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO responses(key, model_key, prompt_sha256, scoring, result, created) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
                self._db.execute("COMMIT")
            except BaseException:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:  # already rolled back by SQLite (disk full, I/O error)
                    pass
                raise
        return len(rows)

    def count(self, mkey: Optional[str] = None) -> int:
        with self._lock, _guard(self.path, "read"):
            if mkey is None:
                return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
            return int(self._db.execute("SELECT COUNT(*) FROM responses WHERE model_key = ?", (mkey,)).fetchone()[0])

    def clear(self, mkey: Optional[str] = None) -> int:
        with self._lock, _guard(self.path, "written"):
            if mkey is None:
                cur = self._db.execute("DELETE FROM responses")
            else:
                cur = self._db.execute("DELETE FROM responses WHERE model_key = ?", (mkey,))
            return cur.rowcount

    def close(self) -> None:
        with self._lock:
            try:
                self._db.close()
            except sqlite3.Error:  # pragma: no cover
                pass

    def __enter__(self) -> "ResponseCache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = [
    "CacheError",
    "NON_SEMANTIC_OPTIONS",
    "default_cache_path",
    "ResponseCache",
    "generate_scoring",
    "logprobs_scoring",
    "model_identity",
    "model_key",
    "request_key",
]
