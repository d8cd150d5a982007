"""The backend protocol: what every LLM runtime (hf, vllm, openai, mock) implements.

Backends receive *rendered chat messages* (the one rendering path in
:mod:`mgreason.scenario.render` is shared by all of them) and whole lists of
requests at once, so that engines able to batch (vLLM) can do so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol, Sequence, runtime_checkable

from mgreason.errors import MGReasonError

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": "..."}
Progress = Optional[Callable[[int], None]]  # called with the number of requests just finished


@dataclass(frozen=True)
class GenerationParams:
    """Explicit generation parameters; backends never fall back on a model's own defaults."""

    temperature: float = 0.0
    max_new_tokens: int = 16
    top_p: float = 1.0
    seed: int = 0
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Workload:
    """What a run will ask of a backend, known before the backend is created (the rendered prompts, the
    labels, the generation budget), so that an engine can size itself to it (vLLM: ``max_model_len``).
    Backends that need nothing of the kind ignore it."""

    prompts: Sequence[list[Message]] = ()
    labels: Sequence[str] = ()
    max_new_tokens: int = 0


@dataclass
class ModelInfo:
    """Identity of the model a backend runs: recorded in every run's config.json."""

    id: str  # what the user asked for (alias, path or hub id)
    resolved: str  # local path or hub id actually loaded
    sha256: Optional[str] = None  # hash of the weight file(s) where known
    revision: Optional[str] = None
    dtype: Optional[str] = None
    extra: dict = field(default_factory=dict)


@dataclass
class BackendResult:
    """One request's outcome. ``error`` is set (and the rest may be None) when the request failed."""

    text: Optional[str] = None  # raw generated text (generate mode)
    label_logprobs: Optional[dict[str, float]] = None  # sum of token log-probs per label (logprobs mode)
    prompt_text: Optional[str] = None  # the exact string the model saw after its chat template, where known
    n_prompt_tokens: Optional[int] = None
    error: Optional[str] = None


@runtime_checkable
class Backend(Protocol):
    name: str

    def model_info(self) -> ModelInfo: ...

    def score_labels(
        self, prompts: Sequence[list[Message]], labels: Sequence[str], progress: Progress = None
    ) -> list[BackendResult]:
        """Log-probability of each label's text as the assistant's reply to each prompt.

        ``label_logprobs[label]`` is the sum of the label tokens' log-probabilities
        (natural log) right after the assistant turn starts.
        """
        ...

    def generate(
        self,
        prompts: Sequence[list[Message]],
        params: GenerationParams,
        choices: Optional[Sequence[str]] = None,
        progress: Progress = None,
    ) -> list[BackendResult]:
        """Generate a reply per prompt. With ``choices`` the backend may constrain output to them."""
        ...

    def close(self) -> None: ...


# --------------------------------------------------------------------------- shared by the backends
def check_labels(labels: Sequence[str]) -> list[str]:
    """The labels (or choices) of a request: non-empty strings, duplicates dropped, order kept."""
    from mgreason.errors import BackendError

    if isinstance(labels, str):
        raise BackendError("labels must be a list of strings, not one string", field="labels")
    out: list[str] = []
    for lab in labels:
        if not isinstance(lab, str) or lab == "":
            raise BackendError(f"every label must be a non-empty string, got {lab!r}", field="labels")
        if lab not in out:
            out.append(lab)
    if not out:
        raise BackendError("no labels to score", field="labels")
    return out


def check_generation(params: GenerationParams, choices: Optional[Sequence[str]]) -> Optional[list[str]]:
    """Validate a generation request; returns the checked ``choices`` (None stays None)."""
    from mgreason.errors import BackendError

    if choices is not None:
        choices = check_labels(choices)
    if params.temperature < 0:
        raise BackendError("temperature must be >= 0", field="temperature")
    if not (0 < params.top_p <= 1):
        raise BackendError("top_p must be in (0, 1]", field="top_p")
    if params.max_new_tokens < 1:
        raise BackendError("max_new_tokens must be >= 1", field="max_new_tokens")
    return choices


def render_chat(tokenizer: Any, messages: list[Message]) -> str:
    """The prompt string after a Hugging Face tokenizer's chat template (``add_generation_prompt=True``):
    one rendering rule for every backend that holds the tokenizer."""
    from mgreason.errors import BackendError

    text = tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False)
    if not isinstance(text, str):  # pragma: no cover - defensive
        raise BackendError("the chat template did not return text", field="model")
    return text


def continuation_tokens(
    encode: Callable[[str], list[int]], prompt_text: str, prompt_ids: list[int], continuation: str
) -> list[int]:
    """Token ids of ``continuation`` after the prompt, as lm-eval cuts them:
    ``encode(prompt + cont)[len(encode(prompt)):]`` when that keeps the prompt's tokens, else ``encode(cont)``.
    Every backend uses this one rule, so label log-probs compare across backends."""
    whole = encode(prompt_text + continuation)
    n = len(prompt_ids)
    if len(whole) > n and whole[:n] == prompt_ids:
        return whole[n:]
    return encode(continuation)


# --------------------------------------------------------------------------- chat prompts as token ids
_SENTINEL = "\ue000{}\ue001"  # private-use characters: where message i's content sits in the template
_SENTINEL_RE = re.compile("\ue000(\\d+)\ue001")


def special_token_strings(tokenizer: Any) -> list[str]:
    """The tokenizer's special tokens as strings (``<|im_start|>``, ``<|im_end|>``, ``</s>``, ...), longest first."""
    out = set(getattr(tokenizer, "all_special_tokens", None) or ())
    for tok in (getattr(tokenizer, "added_tokens_decoder", None) or {}).values():
        if getattr(tok, "special", False) and getattr(tok, "content", ""):
            out.add(str(tok.content))
    return sorted((t for t in out if t), key=lambda t: (-len(t), t))


@dataclass(frozen=True)
class ChatPrompt:
    """One chat request after the template: ``text`` (what the model sees, as a string) and ``ids``.

    Text that came from the messages (the items' fields, the scenario's prompts) is tokenised as text:
    a special token's string inside it (``<|im_end|>``...) becomes ordinary text tokens, never the special
    token, so item text cannot forge chat turns. Only the template's own special tokens are special.
    When no message holds such a string (the usual case) ``ids`` are exactly ``encode(text)``.
    """

    text: str
    ids: list[int]
    encode: Callable[[str], list[int]]  # tokenises the prompt text and anything appended to it (labels)

    def continuation(self, continuation: str) -> list[int]:
        """The tokens of ``continuation`` after this prompt (:func:`continuation_tokens`), as text."""
        return continuation_tokens(self.encode, self.text, self.ids, continuation)


def check_label_request(ids: list[int], labels: Sequence[str], conts: Sequence[list[int]],
                        limit: Optional[int] = None, limit_text: str = "") -> None:
    """The checks every backend makes before scoring labels (``ValueError``, recorded on that sample): the prompt
    has tokens, every label has tokens, and the longest label fits after the prompt within ``limit`` tokens
    (``limit_text`` names that limit in the message)."""
    if not ids:
        raise ValueError("the prompt encodes to no tokens")
    for lab, c in zip(labels, conts):
        if not c:
            raise ValueError(f"label {lab!r} encodes to no tokens")
    if limit is not None:
        longest = max(len(c) for c in conts)
        if len(ids) + longest > limit:
            raise ValueError(f"prompt too long: {len(ids)} prompt tokens + {longest} label tokens exceed {limit_text}")


def chat_prompt(tokenizer: Any, messages: list[Message]) -> ChatPrompt:
    """Render ``messages`` with the tokenizer's chat template and tokenise them (see :class:`ChatPrompt`).

    The one rule shared by every backend that holds the tokenizer (hf, vllm, openai with a local tokenizer).
    """
    text = render_chat(tokenizer, messages)
    specials = special_token_strings(tokenizer)
    contents = [str(m.get("content") or "") for m in messages]
    plain = lambda s: list(tokenizer.encode(s, add_special_tokens=False))  # noqa: E731
    if not specials or not any(t in c for c in contents for t in specials):
        return ChatPrompt(text, plain(text), plain)
    spans = _content_spans(tokenizer, messages, text)
    n = len(text)
    protected = spans + [(n, None)]  # labels appended after the prompt are text too

    def encode(s: str) -> list[int]:
        return _encode_protected(tokenizer, s, protected, specials)

    return ChatPrompt(text, encode(text), encode)


def _content_spans(tokenizer: Any, messages: list[Message], text: str) -> list[tuple[int, int]]:
    """Where each message's content lies in ``text``: the template is rendered with placeholders instead
    of the contents, and must give ``text`` back when they are put in again (else a clear per-request error)."""
    for c in (str(m.get("content") or "") for m in messages):
        if "\ue000" in c or "\ue001" in c:
            raise ValueError("message text holds the private-use characters U+E000/U+E001; cannot locate it safely")
    marked = [{**m, "content": _SENTINEL.format(i)} for i, m in enumerate(messages)]
    template = render_chat(tokenizer, marked)
    for transform in (lambda c: c, str.strip):
        spans: list[tuple[int, int]] = []
        out: list[str] = []
        pos = last = 0
        for mt in _SENTINEL_RE.finditer(template):
            out.append(template[last : mt.start()])
            pos += mt.start() - last
            content = transform(str(messages[int(mt.group(1))].get("content") or ""))
            spans.append((pos, pos + len(content)))
            out.append(content)
            pos += len(content)
            last = mt.end()
        out.append(template[last:])
        if "".join(out) == text:
            return spans
    raise ValueError(
        "a message holds a special token of the tokenizer (e.g. <|im_end|>) and the chat template does not keep "
        "message text verbatim, so it cannot be tokenised as text"
    )


def _encode_protected(tokenizer: Any, s: str, protected: list[tuple[int, Optional[int]]], specials: list[str]) -> list[int]:
    """Tokenise ``s`` with special-token strings honoured only outside ``protected`` character spans.

    Like the tokenizer itself, the text is cut at each (honoured) special token and the pieces between
    are encoded on their own, so where nothing is protected this equals ``encode(s)``."""
    pattern = re.compile("|".join(re.escape(t) for t in specials))

    def inside(i: int) -> bool:
        return any(a <= i < (len(s) if b is None else b) for a, b in protected)

    ids: list[int] = []
    start = 0
    for mt in pattern.finditer(s):
        if inside(mt.start()) or inside(mt.end() - 1):
            continue  # item text: stays text
        if mt.start() > start:
            ids += tokenizer.encode(s[start : mt.start()], add_special_tokens=False, split_special_tokens=True)
        ids.append(int(tokenizer.convert_tokens_to_ids(mt.group(0))))
        start = mt.end()
    if start < len(s):
        ids += tokenizer.encode(s[start:], add_special_tokens=False, split_special_tokens=True)
    return [int(t) for t in ids]


# --------------------------------------------------------------------------- errors and lifecycle
class OutOfMemory(MGReasonError):
    """The model ran out of (CPU or GPU) memory: the run stops, because every later request would too."""


# Exceptions that are bugs in the code, never a property of one request: they are re-raised, not recorded.
PROGRAMMING_ERRORS = (AttributeError, NameError, AssertionError, ImportError, NotImplementedError, SyntaxError)


def first_line(exc: BaseException, limit: int = 500) -> str:
    """The first line of an exception's message (its type name when it has none)."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:limit]


def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    name = type(exc).__name__
    if name in ("OutOfMemoryError", "OutOfResources"):  # torch.cuda / torch.OutOfMemoryError, triton
        return True
    msg = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in msg or "can't allocate memory" in msg
                                              or "defaultcpuallocator: not enough memory" in msg)


def raise_if_fatal(exc: BaseException) -> None:
    """Re-raise what must stop a run: out-of-memory (as :class:`OutOfMemory`, one clear line), programming
    errors and interrupts. Anything else is a per-request failure the caller may record."""
    if isinstance(exc, (KeyboardInterrupt, SystemExit, OutOfMemory)):
        raise exc
    if is_out_of_memory(exc):
        raise OutOfMemory(
            f"out of memory while running the model ({first_line(exc)}); use a smaller model or dtype "
            "(-E dtype=bfloat16), shorter prompts, fewer items per batch, or a machine with more memory",
            field="model",
        ) from exc
    if isinstance(exc, PROGRAMMING_ERRORS):
        raise exc


def request_error(exc: BaseException, **fields: Any) -> BackendResult:
    """The result of one failed request (``fields``: prompt_text, n_prompt_tokens, ...); fatal errors
    (see :func:`raise_if_fatal`) are raised instead."""
    raise_if_fatal(exc)
    return BackendResult(error=first_line(exc), **fields)


def hub_sha256(repo_id: str) -> Optional[str]:
    """sha256 of a hub model's weights when a snapshot is in the local Hugging Face cache (else None)."""
    try:
        from huggingface_hub import snapshot_download

        from mgreason.models.hashing import weights_sha256

        return weights_sha256(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # noqa: BLE001 - best effort: not cached, or no huggingface_hub
        return None


class BackendBase:
    """Shared lifecycle of the concrete backends: ``close()`` (idempotent), use as a context manager,
    and a check that a closed backend is not used. Subclasses release their resources in ``_release``."""

    name: str = ""
    _closed: bool = True

    def _check_open(self) -> None:
        from mgreason.errors import BackendError

        if self._closed:
            raise BackendError(f"the {self.name} backend is closed", field="backend")

    def _release(self) -> None:  # pragma: no cover - overridden where there is something to release
        pass

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._release()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @classmethod
    def from_options(
        cls,
        model: Optional[str],
        engine_args: Optional[dict[str, Any]],
        options: dict[str, Any],
        workload: Optional[Workload] = None,
    ):
        """Create the backend from ``--engine-arg`` values and other options. By default engine args are
        just more options and the workload is not needed; a backend with an engine of its own (vLLM)
        overrides this."""
        from mgreason.errors import BackendError

        if engine_args:
            clash = sorted(set(engine_args) & set(options))
            if clash:
                raise BackendError(f"option(s) given twice: {', '.join(clash)}", field="--engine-arg")
            options = {**options, **engine_args}
        return cls(model, **options)
