"""The synthetic scenario packs (deception, job interview): text pools and parameters.

Each pack is a YAML file in ``mgreason/authoring/data/`` (package data): its settings (context,
speakers, questions with the variants the interviewer may ask and the answers the subject may give),
the MG classes of its transcripts, and its hedges and details. The numeric parameters of the label
dependence (rates, shares, bursts) are the defaults of :class:`MGParams` and :class:`DialogueParams`
unless a pack file sets them. :mod:`.generators` turns a pack into items.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from pydantic import ConfigDict, ValidationError, model_validator

from mgreason.configio import StrictModel, format_validation_error, read_yaml
from mgreason.errors import MGReasonError

__all__ = ["Question", "Setting", "MGParams", "DialogueParams", "Pack", "PACKS", "PACKS_DIR", "get_pack",
           "load_pack", "generator_command"]  # fmt: skip

PACKS_DIR = Path(__file__).resolve().parent / "data"


class _Frozen(StrictModel):
    model_config = ConfigDict(frozen=True)


class Question(_Frozen):
    """One question of a setting: the variants the interviewer may ask and the answers the subject may give,
    shared by every variant (``answers``) or one list per variant (``answers_by_variant``)."""

    ask: tuple[str, ...]
    answers: tuple[str, ...] = ()
    answers_by_variant: tuple[tuple[str, ...], ...] = ()

    @model_validator(mode="after")
    def _one_pool(self) -> "Question":
        if not self.ask:
            raise ValueError("a question needs at least one variant in 'ask'")
        if bool(self.answers) == bool(self.answers_by_variant):
            raise ValueError("give exactly one of 'answers' and 'answers_by_variant'")
        if self.answers_by_variant and len(self.answers_by_variant) != len(self.ask):
            raise ValueError("'answers_by_variant' needs one answer list per variant in 'ask'")
        return self

    def answers_for(self, variant: int) -> tuple[str, ...]:
        return self.answers_by_variant[variant] if self.answers_by_variant else self.answers


class Setting(_Frozen):
    """One interview situation: context text, speakers, questions in order."""

    context: str
    interviewer: str
    subject: str
    questions: tuple[Question, ...]
    critical: int  # index of the pointed question


class MGParams(_Frozen):
    taxonomy: str
    cue_classes: tuple[str, ...]  # stress-related self-adaptors
    neutral_classes: tuple[str, ...]
    base_rate_per_min: float = 5.0  # median fidgeting rate of a subject with the non-cue label
    subject_sigma: float = 0.45  # sd of log(rate) between subjects
    rate_ratio: float = 1.3  # rate multiplier for the cue label
    cue_share: tuple[float, float] = (0.32, 0.58)  # mean share of self-adaptors (non-cue label, cue label)
    cue_concentration: float = 6.0  # Beta concentration of that share (lower = more overlap)
    burst_prob: tuple[float, float] = (0.25, 0.55)  # P(extra self-adaptor burst at the pointed question) per label
    in_answer: float = 0.7  # share of gestures made while the subject is speaking


class DialogueParams(_Frozen):
    hedges: tuple[str, ...]
    details: tuple[str, ...]
    detail_questions: tuple[int, ...]  # answers (by question index) a concrete detail may be added to
    hedge_prob: tuple[float, float] = (0.27, 0.33)  # per answer, (non-cue label, cue label)
    detail_prob: tuple[float, float] = (0.28, 0.24)


class Pack(_Frozen):
    kind: str
    scenario_id: str
    labels: tuple[str, str]  # (non-cue label, cue label)
    id_prefix: str
    settings: tuple[Setting, ...]
    mg: MGParams
    dialogue: DialogueParams
    items_file: str  # where the shipped pack lives, relative to the repository
    n_default: int = 36
    seed_default: int = 0

    @model_validator(mode="after")
    def _check(self) -> "Pack":
        if not self.settings:
            raise ValueError("a pack needs at least one setting")
        if len({s.critical for s in self.settings}) != 1:
            raise ValueError("every setting of a pack has its pointed question at the same index")
        if any(not 0 <= s.critical < len(s.questions) for s in self.settings):
            raise ValueError("'critical' must index one of the setting's questions")
        return self


def _substitute(value: Any, subst: dict[str, str]) -> Any:
    if isinstance(value, str):
        for k, v in subst.items():
            value = value.replace("{" + k + "}", v)
        return value
    if isinstance(value, list):
        return [_substitute(v, subst) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, subst) for k, v in value.items()}
    return value


def load_pack(path: str | Path) -> Pack:
    """A pack file; ``roles: [...]`` expands every setting once per role (``{role}`` in its text replaced)."""
    path = Path(path)
    data = read_yaml(path)
    if isinstance(data, dict) and "roles" in data:
        roles, settings = data.pop("roles"), data.get("settings")
        if isinstance(roles, list) and isinstance(settings, list):
            data["settings"] = [_substitute(s, {"role": str(r)}) for r in roles for s in settings]
    try:
        return Pack.model_validate(data)
    except ValidationError as e:
        raise MGReasonError(format_validation_error(e), file=path) from None


PACKS: dict[str, Pack] = {p.kind: p for p in (load_pack(PACKS_DIR / f"{k}.yaml") for k in ("deception", "interview"))}


def get_pack(kind: str) -> Pack:
    try:
        return PACKS[kind]
    except KeyError:
        raise ValueError(f"unknown pack {kind!r}; choose one of: {', '.join(PACKS)}") from None


def generator_command(kind: str, n: int, seed: int, out: Optional[str] = None) -> str:
    out = out or get_pack(kind).items_file
    return f"mgreason generate-items {kind} --n {n} --seed {seed} --out {out}"
