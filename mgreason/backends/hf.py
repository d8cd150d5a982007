"""Hugging Face transformers backend (the default; runs the embedded SmolLM2 on CPU).

Label scoring is the hot path of every experiment, so :meth:`HFBackend.score_labels`
does as little model work as possible while returning the same log-probs as the
naive "one forward per (prompt, label)" method (:meth:`HFBackend.score_labels_reference`):

* **one prompt forward per prompt** -- its last-position logits give every label's
  first token (``logits_to_keep=1``: the LM head runs at that position only), and its
  KV cache is reused for the remaining label tokens, all labels in one batch over a
  replicated cache. Labels that are single tokens need no second pass at all;
* **prefix sharing** -- requests are sorted by token ids so that prompts sharing a
  long prefix (system prompt, dialogue; the evidence comes after) are adjacent; the
  KV cache of the longest common prefix with the previous prompt is kept (cropped
  back) and only the new suffix is forwarded. Results come back in input order.

Labels are tokenised the lm-evaluation-harness way:
``encode(prompt_text + label)[len(encode(prompt_text)):]``, falling back to
``encode(label)`` when the prompt's tokens are not a prefix of the joint encoding.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from pathlib import Path
import time
from typing import Any, Optional, Sequence

from mgreason.backends.base import (
    BackendBase,
    BackendResult,
    GenerationParams,
    Message,
    ModelInfo,
    Progress,
    ChatPrompt,
    chat_prompt,
    check_label_request,
    check_generation,
    check_labels,
    continuation_tokens,
    first_line as _first_line,
    hub_sha256,
    raise_if_fatal,
    render_chat,
    request_error,
)
from mgreason.errors import BackendError
from mgreason.models.dtype import default_dtype, pick_dtype
from mgreason.models.resolve import EMBEDDED_MODEL, Loadable, ResolvedModel, check_fits_in_memory, loadable, resolve_model

# Upper bound on the bytes of a replicated KV cache built for one label batch.
_MAX_LABEL_CACHE_BYTES = 1 << 30

# bf16/fp16 models: a prompt whose top two label scores are closer than this (nats) is scored again with
# float32 matmuls on the same weights (``-E near_tie=0`` turns it off). Against float32 models the bf16 body
# moved label margins by up to 0.06-0.19 on 944 prompts, and the prediction flips had bf16 gaps <= 0.04 but one
# (0.15); with 0.1, 942 of 944 predictions equal float32's (benchmarks/results/bf16_vs_fp32.md).
NEAR_TIE = 0.1


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class HFBackend(BackendBase):
    """transformers backend: ``HFBackend(model=None, dtype=None, device="cpu", threads=None)``.

    ``dtype=None`` picks :func:`default_dtype` (bfloat16 on CPUs with AMX / AVX-512 BF16, float32
    elsewhere); ``-E dtype=float32`` overrides. The choice and its reason are recorded in model info.
    """

    name = "hf"

    def __init__(
        self,
        model: "str | ResolvedModel | None" = None,
        dtype: Optional[str] = None,
        device: str = "cpu",
        threads: Optional[int] = None,
        adapter: Optional[str] = None,
        near_tie: "float | str | None" = None,
    ):
        try:
            import torch
        except ImportError as exc:  # pragma: no cover - torch is a dependency
            raise BackendError(f"the hf backend needs torch: {exc}", field="backend") from exc
        self._torch = torch
        self.device = str(device)
        self.dtype_name, self.dtype_choice = pick_dtype(dtype, self.device)
        try:
            self.near_tie = NEAR_TIE if near_tie is None else float(near_tie)
        except (TypeError, ValueError):
            self.near_tie = -1.0
        if not self.near_tie >= 0:
            raise BackendError(f"near_tie must be a number >= 0 (nats), got {near_tie!r}", field="near_tie")
        if self.dtype_name == "float32":
            self.near_tie = 0.0
        self.n_rescored = 0  # prompts scored again with float32 matmuls (near ties), over this backend's life
        if threads is None and os.environ.get("MGREASON_THREADS", "").strip():
            threads = os.environ["MGREASON_THREADS"].strip()
        if threads is not None:
            raw = threads
            try:
                threads = int(threads)
            except (TypeError, ValueError):
                threads = 0
            if threads < 1:
                raise BackendError(f"threads must be a positive integer, got {raw!r}", field="threads")
        # default: every CPU this process may run on (override: threads=N or MGREASON_THREADS=N)
        self.threads = threads if threads is not None else _cpu_count()
        if self.device == "cpu":
            torch.set_num_threads(self.threads)

        self.resolved: ResolvedModel = resolve_model(model)
        self.requested = model.id if isinstance(model, ResolvedModel) else (model if model else EMBEDDED_MODEL)
        check_fits_in_memory(self.resolved, self.dtype_name)
        # the files to load in this dtype and their sha256 (a conversion is made once where missing)
        self.loadable: Loadable = loadable(self.resolved, self.dtype_name)
        card = None
        if adapter is not None:  # checked against the weights' identity before they are loaded
            from mgreason.backends.adapter import check_base, read_card

            card = read_card(adapter)
            check_base(card, self.requested, self.loadable.sha256 if self.resolved.kind != "hub" else None, Path(adapter))
        t0 = time.perf_counter()
        self.model, self.tokenizer, self._load_path = self._load(self.loadable)
        self.load_seconds = time.perf_counter() - t0
        self._setup()
        self.adapter: Optional[dict[str, Any]] = None
        if adapter is not None:
            self._attach_adapter(adapter)

    def _attach_adapter(self, directory: str) -> None:
        """A LoRA adapter made by ``mgreason adapt`` on this base model (checked), injected unmerged."""
        from mgreason.backends.adapter import adapter_info, attach_adapter, check_base, read_card

        card = read_card(directory)
        base = self.model_info()
        check_base(card, base.id, base.sha256, Path(directory))  # again, with the digest of what was loaded
        self.model = attach_adapter(self.model, directory)
        self.adapter = adapter_info(directory, card)

    # ------------------------------------------------------------------ loading

    def _load(self, target: Loadable):
        torch = self._torch
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:  # pragma: no cover
            raise BackendError(f"the hf backend needs transformers: {exc}", field="backend") from exc
        r = target.resolved
        torch_dtype = getattr(torch, self.dtype_name)
        kwargs: dict[str, Any] = {"gguf_file": target.gguf_file} if target.gguf_file else {}
        path, where = target.path, target.where
        try:
            tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
            # stored in this dtype (bfloat16 conversions): the safetensors tensors are used as mapped, no copy
            model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype, **kwargs)
        except BackendError:
            raise
        except Exception as exc:  # noqa: BLE001 - every load failure becomes one clear line
            hint = ""
            if r.kind == "hub":
                offline = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE")
                hint = (
                    " (the model is not in the local Hugging Face cache and the hub could not be reached"
                    + ("; HF_HUB_OFFLINE is set" if offline else "; are you offline?")
                    + " -- pass a local directory or .gguf file, or omit --model for the embedded model)"
                )
            raise BackendError(
                f"could not load model {r.id!r} from {where}: {_first_line(exc)}{hint}", field="model"
            ) from exc
        if getattr(tokenizer, "chat_template", None) in (None, ""):
            raise BackendError(
                f"model {r.id!r} has no chat template (a base model?); use an instruction-tuned model", field="model"
            )
        try:
            model.to(self.device)
        except Exception as exc:  # noqa: BLE001
            raise BackendError(f"cannot move model to device {self.device!r}: {_first_line(exc)}", field="device") from exc
        model.eval()
        return model, tokenizer, path

    def _setup(self) -> None:
        from transformers import GenerationConfig

        model, tok = self.model, self.tokenizer
        # The checkpoint's generation_config.json must never leak into our explicit parameters.
        model.generation_config = GenerationConfig()
        params = inspect.signature(model.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        if "logits_to_keep" in params:
            self._keep_kw: Optional[str] = "logits_to_keep"
        elif "num_logits_to_keep" in params:
            self._keep_kw = "num_logits_to_keep"
        else:
            self._keep_kw = None
        cfg = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
        max_ctx = getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", None)
        tok_max = getattr(tok, "model_max_length", None)
        if isinstance(tok_max, int) and 0 < tok_max < 10**9:
            max_ctx = min(max_ctx, tok_max) if max_ctx else tok_max
        self.max_context: int = int(max_ctx or 2048)
        eos: list[int] = []
        for t in (tok.eos_token_id, getattr(cfg, "eos_token_id", None)):
            for x in t if isinstance(t, (list, tuple)) else [t]:
                if isinstance(x, int) and x not in eos:
                    eos.append(x)
        for special in ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<end_of_turn>"):
            tid = tok.convert_tokens_to_ids(special) if special in tok.get_vocab() else None
            if isinstance(tid, int) and tid not in eos and tid != tok.unk_token_id:
                eos.append(tid)
        if not eos:
            raise BackendError(f"model {self.requested!r} has no end-of-sequence token", field="model")
        self.eos_token_ids = eos
        self.pad_token_id = tok.pad_token_id if tok.pad_token_id is not None else eos[0]
        # kv bytes per token (for bounding replicated caches)
        n_layers = getattr(cfg, "num_hidden_layers", 32)
        n_kv = getattr(cfg, "num_key_value_heads", None) or getattr(cfg, "num_attention_heads", 32)
        head_dim = getattr(cfg, "head_dim", None) or (getattr(cfg, "hidden_size", 4096) // max(1, cfg.num_attention_heads))
        elt = self._torch.finfo(getattr(self._torch, self.dtype_name)).bits // 8
        # float32 in label scoring: the keys on the float32 residual stream, keys and values in the near-tie rescoring
        self._kv_bytes_per_token = 2 * n_layers * n_kv * head_dim * max(elt, 4)
        self._closed = False

    # ------------------------------------------------------------------ info

    def model_info(self) -> ModelInfo:
        r = self.resolved
        import torch
        import transformers

        extra: dict[str, Any] = {
            "kind": r.kind,
            "device": self.device,
            "threads": self.threads,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "max_context": self.max_context,
            "dtype_choice": self.dtype_choice,
            "label_logits": self.label_logits(),
        }
        notes = []
        if getattr(self, "_residual_why", None):
            notes.append(f"residual stream kept in {self.dtype_name}: {self._residual_why}")
        if getattr(self, "_near_tie_why", None):
            notes.append(f"near ties not rescored: {self._near_tie_why}")
        if notes:
            extra["label_logits_note"] = "; ".join(notes)
        if getattr(self, "adapter", None):
            extra["adapter"] = dict(self.adapter)
        # the sha256 of the weight files loaded (for a conversion: as written, re-checked by size and mtime)
        extra.update(self.loadable.provenance())
        resolved = str(r.weights_path) if r.kind != "hub" else r.path_or_id
        sha = self.loadable.sha256 if r.kind != "hub" else hub_sha256(r.path_or_id)
        return ModelInfo(id=self.requested, resolved=resolved, sha256=sha, dtype=self.dtype_name, extra=extra)


    # ------------------------------------------------------------------ tokenisation

    def render(self, messages: list[Message]) -> str:
        """The exact prompt string the model sees (chat template + generation prompt)."""
        return render_chat(self.tokenizer, messages)

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def continuation_tokens(self, prompt_text: str, prompt_ids: list[int], continuation: str) -> list[int]:
        """lm-eval style: ``encode(prompt+cont)[len(encode(prompt)):]``, else ``encode(cont)``."""
        return continuation_tokens(self.encode, prompt_text, prompt_ids, continuation)

    def chat_prompt(self, messages: list[Message]) -> ChatPrompt:
        """The prompt text and ids; special-token strings inside message text stay text (no forged turns)."""
        return chat_prompt(self.tokenizer, messages)

    def _prepare(self, messages: list[Message], labels: list[str], seen: Optional[dict] = None):
        """Render and tokenise one request; ``seen`` receives the prompt text/ids before any check fails.
        Labels are tokenised lm-eval style: ``encode(prompt+label)[len(encode(prompt)):]``, else ``encode(label)``."""
        cp = self.chat_prompt(messages)
        text, ids = cp.text, cp.ids
        if seen is not None:
            seen.update(text=text, ids=ids)
        conts = [cp.continuation(lab) for lab in labels] if ids else []
        check_label_request(ids, labels, conts, self.max_context, f"the model's context of {self.max_context} tokens")
        return text, ids, conts

    # ------------------------------------------------------------------ scoring

    def score_labels(
        self, prompts: Sequence[list[Message]], labels: Sequence[str], progress: Progress = None
    ) -> list[BackendResult]:
        self._check_open()
        labels = check_labels(labels)
        results: list[Optional[BackendResult]] = [None] * len(prompts)
        contexts: list[list[int]] = []
        conts: list[list[list[int]]] = []
        owners: list[int] = []
        texts: dict[int, str] = {}
        for i, messages in enumerate(prompts):
            seen: dict = {}
            try:
                text, ids, c = self._prepare(messages, labels, seen)
            except Exception as exc:  # noqa: BLE001 - per-request failure
                ids = seen.get("ids")
                results[i] = request_error(exc, prompt_text=seen.get("text"), n_prompt_tokens=len(ids) if ids else None)
                if progress:
                    progress(1)
                continue
            texts[i] = text
            contexts.append(ids)
            conts.append(c)
            owners.append(i)
        scores = self.score_tokens(contexts, conts, progress=progress)
        scores = self._rescore_near_ties(contexts, conts, scores)
        for k, i in enumerate(owners):
            s = scores[k]
            if isinstance(s, BaseException):
                results[i] = BackendResult(prompt_text=texts[i], n_prompt_tokens=len(contexts[k]), error=_first_line(s))
            else:
                results[i] = BackendResult(
                    label_logprobs=dict(zip(labels, s)),
                    prompt_text=texts[i],
                    n_prompt_tokens=len(contexts[k]),
                )
        return [r if r is not None else BackendResult(error="not scored") for r in results]

    def _rescoring(self) -> bool:
        """Whether near ties are rescored: ``near_tie`` > 0 and the float32 arithmetic has not failed here."""
        return bool(self.near_tie) and not getattr(self, "_near_tie_why", None)

    def _near(self, scores) -> bool:
        """Whether label scores (a sequence, not an exception) have their top two within ``near_tie``."""
        if not self._rescoring() or isinstance(scores, BaseException) or len(scores) < 2:
            return False
        top = sorted(scores, reverse=True)
        return top[0] - top[1] < self.near_tie

    def _rescore_near_ties(self, contexts, conts, scores: list) -> list:
        """Near ties (top two label scores within ``near_tie``) scored again with float32 matmuls.

        A bf16 body moves label margins by up to ~0.1-0.2 nats against float32; where the top two labels are
        that close its answer may differ from float32's (1.5B, 400 iMiGUE prompts: 8 flips, every one with a
        bf16 gap <= 0.04). Those prompts alone run again with every matmul in float32 on the same bf16
        weights (:meth:`_float32_compute`), which gave float32's answer on all 8: the flips came from bf16
        arithmetic, not from the weights' rounding. An architecture where that fails keeps the bf16 scores,
        stops rescoring, and model info says why.
        """
        near = [k for k, sc in enumerate(scores) if self._near(sc)]
        if not near:
            return scores
        with self._float32_compute():
            again = self.score_tokens([contexts[k] for k in near], [conts[k] for k in near])
        ok = [(k, sc) for k, sc in zip(near, again) if not isinstance(sc, BaseException)]
        if not ok:
            self._near_tie_why = _first_line(again[0])
            return scores
        for k, sc in ok:
            scores[k] = sc
        self.n_rescored += len(ok)
        return scores

    @contextlib.contextmanager
    def _float32_compute(self):
        """Within: every ``nn.Linear`` computes in float32 on its weights cast per call (no float32 copy of the
        model is kept), the input embeddings come out in float32, and no autocast applies: the model's bf16
        weights, float32 arithmetic."""
        torch = self._torch
        F = torch.nn.functional
        saved = []

        def linear32(mod, x):
            bias = None if mod.bias is None else mod.bias.float()
            return F.linear(x.float(), mod.weight.float(), bias)

        with contextlib.ExitStack() as stack:
            for mod in self.model.modules():
                if isinstance(mod, torch.nn.Linear) and mod.weight.dtype != torch.float32:
                    saved.append((mod, mod.__dict__.get("forward")))
                    mod.forward = linear32.__get__(mod)
            stack.callback(_restore_forwards, saved)
            self._float32_embeddings(stack)
            self._compute32 = True
            stack.callback(setattr, self, "_compute32", False)
            yield

    def score_tokens(
        self,
        contexts: Sequence[Sequence[int]],
        continuations: Sequence[Sequence[Sequence[int]]],
        progress: Progress = None,
    ) -> list:
        """Token-level engine: for each context, the summed log-prob of each of its continuations.

        Returns, per context (input order), a list of floats or the exception that
        made that request fail. Tokens shared by all of a context's continuations
        (e.g. lm-eval's ``"\\n"`` moved from the context) are forwarded with the prompt;
        identical contexts are forwarded once.
        """
        self._check_open()
        torch = self._torch
        n = len(contexts)
        out: list = [None] * n
        reqs = []
        for i in range(n):
            ids = tuple(int(t) for t in contexts[i])
            conts = [tuple(int(t) for t in c) for c in continuations[i]]
            # common prefix of all continuations: it is forwarded as part of the prompt
            p = min((len(c) for c in conts), default=0)
            for c in conts[1:]:
                k = 0
                while k < p and c[k] == conts[0][k]:
                    k += 1
                p = k
            common = conts[0][:p] if conts else ()
            reqs.append((ids + common, p, ids, conts))
        order = sorted(range(n), key=lambda i: reqs[i][0])
        pfx_ids: tuple = ()
        pfx_keep = -1
        pfx_cache = None
        kept_logp = None
        with torch.inference_mode(), self._float32_logits():
            for i in order:
                ext, p, ids, conts = reqs[i]
                try:
                    if not ids:
                        raise ValueError("empty context")
                    if not conts or any(len(c) == 0 for c in conts):
                        raise ValueError("empty continuation")
                    if not (ext == pfx_ids and p + 1 == pfx_keep and pfx_cache is not None):
                        # Keep the cache of the longest common prefix with the previous sequence; the
                        # p + 1 positions whose logits we need must be in the forwarded suffix.
                        lcp = 0
                        if pfx_cache is not None:
                            m = min(len(ext) - (p + 1), len(pfx_ids))
                            while lcp < m and ext[lcp] == pfx_ids[lcp]:
                                lcp += 1
                            if lcp == 0:
                                pfx_cache = None
                            elif lcp < len(pfx_ids):
                                try:
                                    pfx_cache.crop(-(len(pfx_ids) - lcp))
                                except Exception:  # noqa: BLE001 - non-croppable cache (sliding/hybrid)
                                    pfx_cache = None
                        if pfx_cache is None:
                            lcp = 0
                        pfx_ids, pfx_keep = (), -1
                        logits, pfx_cache = self._forward(ext[lcp:], pfx_cache, keep=p + 1)
                        pfx_ids, pfx_keep = ext, p + 1
                        kept_logp = torch.log_softmax(logits[0, -(p + 1) :].float(), dim=-1)
                    out[i] = self._score_continuations(kept_logp, pfx_cache, conts, p)
                except Exception as exc:  # noqa: BLE001 - per-request failure; start afresh
                    raise_if_fatal(exc)
                    out[i] = exc
                    pfx_ids, pfx_keep, pfx_cache, kept_logp = (), -1, None, None
                if progress:
                    progress(1)
        return out

    # Final-norm attribute names of the decoders transformers ships (Llama/Qwen/Mistral/Gemma, Phi, GPT-2, Falcon...).
    _FINAL_NORMS = ("norm", "final_layernorm", "ln_f", "final_norm", "norm_f")

    def _float32_targets(self) -> list[tuple[Any, str, Any]]:
        """(parent module, attribute, module) of the final norm and the LM head; empty for a float32 model."""
        torch = self._torch
        model = self.model
        if self.dtype_name == "float32" or model is None:
            return []
        head = model.get_output_embeddings()
        if not isinstance(head, torch.nn.Linear):
            return []
        out = []
        for name, mod in model.named_modules():
            if mod is head and name:
                parent, _, attr = name.rpartition(".")
                out.append((model.get_submodule(parent) if parent else model, attr, head))
                break
        get_decoder = getattr(model, "get_decoder", None)
        decoder = get_decoder() if callable(get_decoder) else None
        for attr in self._FINAL_NORMS if decoder is not None else ():
            norm = getattr(decoder, attr, None)
            if isinstance(norm, torch.nn.Module) and not list(norm.children()):
                out.insert(0, (decoder, attr, norm))
                break
        return out

    def label_logits(self) -> str:
        """What the logits read by label scoring are computed in (recorded in model info)."""
        if self.dtype_name == "float32":
            return "float32"
        targets = self._float32_targets()
        if not any(isinstance(m, self._torch.nn.Linear) for _, _, m in targets):
            return self.dtype_name
        norm = "final norm and " if len(targets) > 1 else ""
        near = (
            f"; top-2 gaps below {self.near_tie:g} rescored with float32 matmuls" if self._rescoring() else ""
        )
        if self._residual_float32():
            return f"float32 ({norm}LM head in float32, residual stream float32, matmuls {self.dtype_name}{near})"
        return f"float32 ({norm}LM head in float32, body {self.dtype_name}{near})"

    def _residual_float32(self) -> bool:
        """Whether label scoring keeps the residual stream in float32 (bf16/fp16 models; probed once).

        Within :meth:`_float32_logits` the input embeddings are cast to float32 and the forward runs under
        ``torch.autocast`` to the model's dtype: matmuls (linear layers, attention) stay in the model's dtype
        on its weights, while residual additions, norms and the keys' rotary products stay float32. On
        SmolLM2's 472 demo + iMiGUE prompts this halved max |Δ margin| against a float32 model (0.10-0.15 ->
        0.06-0.12) and took the prediction flips from 5 to 1; on Qwen2.5-Coder-1.5B's demo prompts it changed
        neither (the rounding of its weights to bf16 dominates); benchmarks/results/bf16_vs_fp32.md. An
        architecture whose forward fails this way (a probe of two tokens) keeps its own dtype throughout,
        and ``label_logits`` in model info says so.
        """
        ok = getattr(self, "_residual_ok", None)
        if ok is not None:
            return ok
        if self.dtype_name == "float32" or self.model is None:
            return False
        torch = self._torch
        self._residual_ok = True
        try:
            with torch.inference_mode(), self._float32_logits():
                logits, _ = self._forward([self.eos_token_ids[0]] * 2, None, keep=1)
            if logits.dtype != torch.float32 or not bool(torch.isfinite(logits).all()):
                raise ValueError(f"logits {logits.dtype}, finite: {bool(torch.isfinite(logits).all())}")
        except Exception as exc:  # noqa: BLE001 - any failure: this architecture keeps its dtype
            raise_if_fatal(exc)
            self._residual_ok = False
            self._residual_why = _first_line(exc)
        return self._residual_ok

    @contextlib.contextmanager
    def _float32_logits(self):
        """Within: the final norm and the LM head run in float32 on the positions whose logits are computed
        (``logits_to_keep``), from the body's last hidden state cast to float32; where
        :meth:`_residual_float32` holds, the residual stream is float32 too (matmuls in the model's dtype).

        In bfloat16 the LM head's output is rounded to bf16 (steps of 0.125 at logits ~20): label margins
        took a handful of values and tied exactly. The float32 copies (the head is vocab x hidden floats:
        0.9 GB for Qwen2.5-1.5B, 0.11 GB for SmolLM2) are made on first use and kept; the modules are put
        back and the hook removed on exit, so generation keeps the model's dtype.
        """
        swaps = getattr(self, "_float32_swaps", None)
        if swaps is None:
            swaps = self._float32_swaps = [(parent, attr, _Float32(mod, self._torch)) for parent, attr, mod in self._float32_targets()]
        if not swaps:
            yield
            return
        torch = self._torch
        saved = [(parent, attr, getattr(parent, attr)) for parent, attr, _ in swaps]
        with contextlib.ExitStack() as stack:
            for parent, attr, rep in swaps:
                setattr(parent, attr, rep)
            for parent, attr, orig in saved:
                stack.callback(setattr, parent, attr, orig)
            if not getattr(self, "_compute32", False) and self._residual_float32():  # the first call probes
                self._float32_embeddings(stack)
                stack.enter_context(torch.autocast(torch.device(self.device).type, dtype=getattr(torch, self.dtype_name)))
            yield

    def _float32_embeddings(self, stack: contextlib.ExitStack) -> None:
        """The input embeddings come out in float32 until ``stack`` closes (the start of a float32 residual stream)."""
        hook = self.model.get_input_embeddings().register_forward_hook(lambda _m, _i, out: out.float())
        stack.callback(hook.remove)

    def _forward(self, ids: Sequence[int], cache, keep: int = 0):
        """Forward ``ids`` after ``cache``; with ``keep`` > 0 the LM head runs on the last ``keep`` positions only."""
        torch = self._torch
        x = torch.tensor([list(ids)], dtype=torch.long, device=self.device)
        kwargs: dict[str, Any] = {"use_cache": True}
        if cache is not None:
            kwargs[self._cache_kw] = cache
        if keep > 0 and self._keep_kw:
            kwargs[self._keep_kw] = keep
        out = self.model(input_ids=x, **kwargs)
        new_cache = getattr(out, "cache", None)
        if new_cache is None:
            new_cache = getattr(out, "past_key_values", None)
        return out.logits, new_cache

    def _score_continuations(self, kept_logp, cache, conts: Sequence[tuple], p: int) -> list[float]:
        """Score continuations after a forward of prompt + their common prefix (``p`` tokens).

        ``kept_logp[k]`` (k = 0..p) are the log-probs predicting continuation token k; ``cache``
        holds the prompt and the common prefix. Remaining tokens go through one batched pass.
        """
        torch = self._torch
        common = sum(float(kept_logp[k, conts[0][k]]) for k in range(p))
        scores = [common + (float(kept_logp[p, c[p]]) if len(c) > p else 0.0) for c in conts]
        # Unique remaining inputs (c[p:-1]) that need a pass over the cache.
        tails = sorted({tuple(c[p:-1]) for c in conts if len(c) > p + 1}, key=lambda t: (-len(t), t))
        if not tails:
            return scores
        prompt_len = cache.get_seq_length()
        per_row = max(1, (prompt_len + len(tails[0])) * self._kv_bytes_per_token)
        chunk = max(1, _MAX_LABEL_CACHE_BYTES // per_row)
        step_logp: dict[tuple, Any] = {}
        for s in range(0, len(tails), chunk):
            group = tails[s : s + chunk]
            width = len(group[0])  # sorted longest first
            x = torch.full((len(group), width), self.pad_token_id, dtype=torch.long, device=self.device)
            for r, t in enumerate(group):
                x[r, : len(t)] = torch.tensor(t, dtype=torch.long)
            rep = self._replicate_cache(cache, len(group))
            # Right padding needs no mask: causal attention keeps pads out of the real positions.
            out = self.model(input_ids=x, use_cache=True, **{self._cache_kw: rep})
            logp = torch.log_softmax(out.logits.float(), dim=-1)
            for r, t in enumerate(group):
                step_logp[t] = logp[r, : len(t)]
            del rep, out
        for j, c in enumerate(conts):
            if len(c) > p + 1:
                lp = step_logp[tuple(c[p:-1])]
                idx = torch.tensor(c[p + 1 :], dtype=torch.long, device=lp.device)
                scores[j] += float(lp.gather(1, idx[:, None]).sum())
        return scores

    def _replicate_cache(self, cache, n: int):
        """A new DynamicCache holding ``n`` copies of ``cache`` (the original is left untouched)."""
        from transformers import DynamicCache

        data = []
        for entry in cache:
            entry = tuple(entry)
            k, v = entry[0], entry[1]
            if k is None or v is None:
                data.append(entry)
                continue
            rep = (k.expand(n, *k.shape[1:]).contiguous(), v.expand(n, *v.shape[1:]).contiguous())
            data.append(rep + tuple(entry[2:]) if len(entry) > 2 and entry[2] is not None else rep)
        return DynamicCache(data)

    def score_labels_reference(
        self, prompts: Sequence[list[Message]], labels: Sequence[str], progress: Progress = None
    ) -> list[BackendResult]:
        """Naive scoring: one full forward over prompt+label tokens per (prompt, label). For tests/benchmarks."""
        self._check_open()
        torch = self._torch
        labels = check_labels(labels)
        results: list[BackendResult] = []

        def naive(ids, conts) -> dict:
            scores = {}
            with torch.inference_mode(), self._float32_logits():
                for lab, c in zip(labels, conts):
                    full = ids + c
                    x = torch.tensor([full[:-1]], dtype=torch.long, device=self.device)
                    logits = self.model(input_ids=x, use_cache=False).logits
                    logp = torch.log_softmax(logits[0].float(), dim=-1)
                    pos = torch.arange(len(ids) - 1, len(full) - 1)
                    scores[lab] = float(logp[pos, torch.tensor(c)].sum())
            return scores

        for messages in prompts:
            seen: dict = {}
            try:
                text, ids, conts = self._prepare(messages, labels, seen)
                scores = naive(ids, conts)
                if self._near(list(scores.values())):
                    with self._float32_compute():  # as score_labels does
                        scores = naive(ids, conts)
                results.append(BackendResult(label_logprobs=scores, prompt_text=text, n_prompt_tokens=len(ids)))
            except Exception as exc:  # noqa: BLE001 - per-request failure
                ids = seen.get("ids")
                results.append(
                    request_error(exc, prompt_text=seen.get("text"), n_prompt_tokens=len(ids) if ids else None)
                )
            if progress:
                progress(1)
        return results

    # ------------------------------------------------------------------ generation

    def generate(
        self,
        prompts: Sequence[list[Message]],
        params: GenerationParams,
        choices: Optional[Sequence[str]] = None,
        progress: Progress = None,
    ) -> list[BackendResult]:
        """One reply per prompt, with explicit parameters only (greedy when ``temperature == 0``).

        Sampling is seeded per request (``params.seed``) without touching the global RNG.
        Only new tokens are decoded; the text is cut at the first stop string. With
        ``choices`` decoding is constrained to the choices' token sequences (plus the
        end-of-turn token), so the text is always exactly one choice; ``max_new_tokens``
        is then replaced by the longest choice's length + 1.
        """
        self._check_open()
        choices = check_generation(params, choices)
        results: list[BackendResult] = []
        for messages in prompts:
            text: Optional[str] = None
            ids: list[int] = []
            try:
                cp = self.chat_prompt(messages)
                text, ids = cp.text, cp.ids
                if choices is not None:
                    out = self._generate_choice(cp, choices, params)
                else:
                    out = self._generate_free(ids, params)
                results.append(BackendResult(text=out, prompt_text=text, n_prompt_tokens=len(ids)))
            except BackendError:
                raise
            except Exception as exc:  # noqa: BLE001 - per-request failure
                results.append(request_error(exc, prompt_text=text, n_prompt_tokens=len(ids) if ids else None))
            if progress:
                progress(1)
        return results

    def _generation_config(self, params: GenerationParams, max_new_tokens: int, eos: list[int]):
        from transformers import GenerationConfig

        sample = params.temperature > 0
        cfg: dict[str, Any] = dict(
            max_new_tokens=max_new_tokens,
            min_new_tokens=0,
            do_sample=sample,
            num_beams=1,
            num_return_sequences=1,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
            eos_token_id=eos,
            pad_token_id=self.pad_token_id,
            use_cache=True,
        )
        if sample:
            cfg.update(temperature=float(params.temperature), top_p=float(params.top_p), top_k=0)
        return GenerationConfig(**cfg)

    def _run_generate(self, ids: list[int], gen_cfg, seed: int, **kwargs):
        torch = self._torch
        x = torch.tensor([ids], dtype=torch.long, device=self.device)
        mask = torch.ones_like(x)
        with torch.random.fork_rng(devices=[]), torch.inference_mode():
            torch.manual_seed(int(seed))
            out = self.model.generate(input_ids=x, attention_mask=mask, generation_config=gen_cfg, **kwargs)
        return out[0, len(ids) :].tolist()

    def _generate_free(self, ids: list[int], params: GenerationParams) -> str:
        if len(ids) + params.max_new_tokens > self.max_context:
            raise ValueError(
                f"prompt too long: {len(ids)} prompt tokens + {params.max_new_tokens} new tokens exceed the "
                f"model's context of {self.max_context} tokens"
            )
        from transformers import StoppingCriteria, StoppingCriteriaList

        gen_cfg = self._generation_config(params, params.max_new_tokens, self.eos_token_ids)
        kwargs: dict[str, Any] = {}
        stops = tuple(s for s in params.stop if s)
        if stops:
            tok, n_prompt = self.tokenizer, len(ids)

            class _Stop(StoppingCriteria):
                def __call__(self, input_ids, scores, **kw):  # type: ignore[override]
                    done = [
                        any(s in tok.decode(row[n_prompt:], skip_special_tokens=True) for s in stops)
                        for row in input_ids.tolist()
                    ]
                    import torch as _t

                    return _t.tensor(done, dtype=_t.bool, device=input_ids.device)

            kwargs["stopping_criteria"] = StoppingCriteriaList([_Stop()])
        new = self._run_generate(ids, gen_cfg, params.seed, **kwargs)
        new = [t for t in new if t not in self.eos_token_ids]
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        cut = min((text.find(s) for s in stops if s in text), default=-1)
        if cut >= 0:
            text = text[:cut]
        return text

    def _generate_choice(self, cp: ChatPrompt, choices: list[str], params: GenerationParams) -> str:
        ids = cp.ids
        seqs = [tuple(cp.continuation(c)) for c in choices]
        eos = self.eos_token_ids[0]
        nxt: dict[tuple, set] = {}
        complete: dict[tuple, str] = {}
        for c, s in zip(choices, seqs):
            if not s:
                raise ValueError(f"choice {c!r} encodes to no tokens")
            complete.setdefault(s, c)
            for k in range(len(s)):
                nxt.setdefault(s[:k], set()).add(s[k])
        longest = max(len(s) for s in seqs)
        if len(ids) + longest + 1 > self.max_context:
            raise ValueError(
                f"prompt too long: {len(ids)} prompt tokens + {longest + 1} choice tokens exceed the model's "
                f"context of {self.max_context} tokens"
            )
        n_prompt = len(ids)

        def allowed(batch_id, input_ids):
            g = tuple(input_ids[n_prompt:].tolist())
            a = set(nxt.get(g, ()))
            if g in complete:
                a.add(eos)
            return sorted(a) if a else [eos]

        gen_cfg = self._generation_config(params, longest + 1, [eos])
        new = self._run_generate(ids, gen_cfg, params.seed, prefix_allowed_tokens_fn=allowed)
        g = tuple(t for t in new if t != eos)
        if g in complete:
            return complete[g]
        # cannot happen with the constraint, but never return something outside the set
        for s in sorted(complete, key=len, reverse=True):
            if g[: len(s)] == s:
                return complete[s]
        raise ValueError(f"constrained decoding produced no choice (tokens {list(g)})")

    # ------------------------------------------------------------------ lifecycle

    def _release(self) -> None:
        self.model = None
        self._float32_swaps = None
        self._residual_ok = None
        self.tokenizer = None
        import gc

        gc.collect()


def _restore_forwards(saved) -> None:
    for mod, fwd in saved:
        if fwd is None:
            mod.__dict__.pop("forward", None)
        else:
            mod.forward = fwd


def _Float32(module, torch):
    """A float32 copy of ``module`` (a norm or a Linear) that casts its input to float32."""
    import copy

    class Float32(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x, *args, **kwargs):
            with torch.autocast(x.device.type, enabled=False):  # float32 even inside the residual autocast
                return self.inner(x.float(), *args, **kwargs)

    if isinstance(module, torch.nn.Linear):
        inner = torch.nn.Linear(module.in_features, module.out_features, bias=module.bias is not None, device="meta")
        inner.weight = torch.nn.Parameter(module.weight.detach().float(), requires_grad=False)
        if module.bias is not None:
            inner.bias = torch.nn.Parameter(module.bias.detach().float(), requires_grad=False)
    else:
        inner = copy.deepcopy(module).float()
    return Float32(inner.eval())


__all__ = ["HFBackend"]
