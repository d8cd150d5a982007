"""The backend protocol: what every LLM runtime (hf, vllm, openai, mock) implements.

Backends receive *rendered chat messages* (the one rendering path in
:mod:`mgreason.scenario.render` is shared by all of them) and whole lists of
requests at once, so that engines able to batch (vLLM) can do so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol, Sequence, runtime_checkable

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
