"""A deterministic mock backend, for unit tests only (never a default).

Its answers are a pure function of the prompt text: a hash decides each label's
score, and with ``evidence_bias`` > 0 it leans towards the label named by a
``[gold:LABEL]`` marker if a test plants one in the prompt. It loads nothing.
"""

from __future__ import annotations

import hashlib
import re
from typing import Optional, Sequence

from mgreason.backends.base import BackendBase, BackendResult, GenerationParams, Message, ModelInfo, Progress


def _messages_text(messages: list[Message]) -> str:
    return "".join(f"<|{m['role']}|>{m['content']}" for m in messages) + "<|assistant|>"


class MockBackend(BackendBase):
    name = "mock"

    def __init__(self, model: Optional[str] = None, fail_every: int = 0, reply: Optional[str] = None):
        self.model = model or "mock"
        self._closed = False
        self.fail_every = fail_every  # make every n-th request fail (tests of error handling)
        self.reply = reply  # fixed generated reply, if set
        self.calls = 0

    def model_info(self) -> ModelInfo:
        return ModelInfo(id=self.model, resolved="mock", sha256=None, dtype=None, extra={"mock": True})

    def _score(self, text: str, label: str) -> float:
        m = re.search(r"\[gold:([^\]]+)\]", text)
        bonus = 5.0 if m and m.group(1) == label else 0.0
        h = hashlib.sha256(f"{text}\x00{label}".encode()).digest()
        return -1.0 - int.from_bytes(h[:4], "big") / 2**32 * 4.0 + bonus

    def _maybe_fail(self) -> Optional[str]:
        self.calls += 1
        if self.fail_every and self.calls % self.fail_every == 0:
            return "mock failure (fail_every)"
        return None

    def score_labels(
        self, prompts: Sequence[list[Message]], labels: Sequence[str], progress: Progress = None
    ) -> list[BackendResult]:
        out = []
        for msgs in prompts:
            text = _messages_text(msgs)
            err = self._maybe_fail()
            if err:
                out.append(BackendResult(prompt_text=text, error=err))
            else:
                out.append(BackendResult(prompt_text=text, label_logprobs={lab: self._score(text, lab) for lab in labels}))
            if progress:
                progress(1)
        return out

    def generate(
        self,
        prompts: Sequence[list[Message]],
        params: GenerationParams,
        choices: Optional[Sequence[str]] = None,
        progress: Progress = None,
    ) -> list[BackendResult]:
        out = []
        for msgs in prompts:
            text = _messages_text(msgs)
            err = self._maybe_fail()
            if err:
                out.append(BackendResult(prompt_text=text, error=err))
            else:
                if self.reply is not None:
                    reply = self.reply
                elif choices:
                    reply = max(choices, key=lambda c: self._score(text, c))
                else:
                    h = int(hashlib.sha256(text.encode()).hexdigest(), 16)
                    reply = ["I think the answer is unclear.", "positive", "negative"][h % 3]
                out.append(BackendResult(prompt_text=text, text=reply[: params.max_new_tokens * 8]))
            if progress:
                progress(1)
        return out

