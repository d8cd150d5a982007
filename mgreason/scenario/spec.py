"""The scenario file format (YAML), validated by pydantic.

A scenario is one emotional-reasoning task: a question with a closed label set,
prompt templates, items with gold labels and micro-gesture transcripts, the
conditions every item is run under, and how answers are scored.
`mgreason schema` prints the JSON Schema of :class:`ScenarioSpec`.
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import Field, ValidationInfo, field_validator, model_validator

from mgreason.configio import StrictModel
from mgreason.degrade import LEVELS as DEGRADE_LEVELS
from mgreason.degrade import DegradeParams

EvidenceForm = Literal["none", "timeline", "aggregate"]
TranscriptChoice = Literal["own", "shuffled", "degraded"]


_Strict = StrictModel  # the project's one config base (extra fields forbidden)


class LabelSpec(_Strict):
    name: str = Field(min_length=1, description="the label text; also what the model is scored on")
    description: str = Field(default="", description="what the label means; available to templates")
    aliases: list[str] = Field(default_factory=list, description="other answers parsed as this label (generate mode)")


class PromptsSpec(_Strict):
    system: Optional[str] = Field(default=None, description="system prompt template file, relative to the scenario file")
    user: str = Field(description="user prompt template file, relative to the scenario file")


class FieldMap(_Strict):
    id: str = Field(default="id", description="item column holding a unique item id")
    label: str = Field(default="label", description="item column holding the gold label")
    transcript: Optional[str] = Field(
        default="transcript", description="item column holding the MG transcript (object or path); null if none"
    )
    group: Optional[str] = Field(
        default=None,
        description="item column naming who (or what) an item comes from, e.g. the speaker or subject: the evidence "
        "ceiling's cross-validation never puts one group in both training and test folds (without it, the report "
        "says that ungrouped CV overstates the ceiling)",
    )
    text: Optional[list[str]] = Field(
        default=None,
        description="item columns whose text feeds the text-only evidence ceiling (strings, or lists of "
        "{speaker, text} turns); default: `context` and `dialogue` where the items have them; [] for none",
    )


class ItemsSpec(_Strict):
    path: Optional[str] = Field(default=None, description="JSONL / JSON / CSV file, relative to the scenario file")
    format: Optional[Literal["jsonl", "json", "csv"]] = Field(default=None, description="default: from the suffix")
    inline: Optional[list[dict[str, Any]]] = Field(default=None, description="items written in the scenario itself")
    fields: FieldMap = Field(default_factory=FieldMap)
    train_path: Optional[str] = Field(
        default=None,
        description="items file of a training split (same columns), relative to the scenario file: the evidence "
        "ceiling is fitted there and tested on the items instead of cross-validated (default: demonstrations.path "
        "when given)",
    )
    train_format: Optional[Literal["jsonl", "json", "csv"]] = Field(
        default=None, description="format of train_path; default: from the suffix"
    )
    obtain: Optional[str] = Field(
        default=None,
        description="for items built from a third-party dataset: how to obtain it and build the items file; "
        "shown when the file is missing",
    )

    @model_validator(mode="after")
    def _one_source(self) -> "ItemsSpec":
        if (self.path is None) == (self.inline is None):
            raise ValueError("give exactly one of items.path or items.inline")
        return self


class TranscriptsSpec(_Strict):
    source: Literal["inline", "path"] = Field(
        default="inline",
        description="inline: the transcript column holds the transcript object (or its JSON); "
        "path: it holds a path to a transcript JSON file",
    )
    base_dir: Optional[str] = Field(
        default=None, description="for source=path: directory the paths are relative to (default: the items file's)"
    )
    show_confidence: Optional[bool] = Field(
        default=None, description="show detector confidence in the timeline (default: only for recognizer output)"
    )
    labels: Literal["strict", "warn", "any"] = Field(
        default="strict",
        description="strict: a transcript's taxonomy must be known (imigue, smg, ma52) and every event label one of "
        "its classes (name or short alias; without a taxonomy, a class of some known taxonomy), else the scenario is "
        "refused; warn: the same check, a warning only; any: free-text labels",
    )


class ConditionSpec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    evidence: EvidenceForm = Field(description="none | timeline (timestamped events) | aggregate (counts, durations)")
    transcript: TranscriptChoice = Field(
        default="own",
        description="own: the item's transcript; shuffled: another item's (seeded derangement); "
        "degraded: the item's transcript with seeded recognizer-like errors (see degrade)",
    )
    degrade: Optional[Union[str, DegradeParams]] = Field(
        default=None,
        description="for transcript: degraded: a named level (L0 exact copy ... L6 no label right; "
        "mgreason.degrade.LEVELS) or the error parameters (miss_rate, spurious_rate, confusion_rate, confusion, "
        "confusion_matrix, jitter, split_rate, merge_rate, merge_gap_s, confidence_noise, spurious_confidence); "
        "seeded per item from the run seed, the condition name and the item id",
        validate_default=True,
    )
    description: str = ""

    @field_validator("degrade")
    @classmethod
    def _degrade_only_when_degraded(
        cls, value: Optional[Union[str, DegradeParams]], info: ValidationInfo
    ) -> Optional[Union[str, DegradeParams]]:
        # a field validator (not a model validator), so an error is reported at conditions.N.degrade
        if info.data.get("transcript") == "degraded":
            if value is None:
                raise ValueError("transcript: degraded needs `degrade` (a level name such as L3, or the error parameters)")
            if info.data.get("evidence") == "none":
                raise ValueError("transcript: degraded needs evidence timeline or aggregate (none shows no transcript)")
            if isinstance(value, str) and value not in DEGRADE_LEVELS:
                raise ValueError(f"unknown degrade level {value!r}; named levels are {', '.join(DEGRADE_LEVELS)}")
        elif value is not None:
            raise ValueError("`degrade` is only used with transcript: degraded")
        return value


BUILTIN_CONDITIONS: dict[str, ConditionSpec] = {
    c.name: c
    for c in (
        ConditionSpec(name="without_mg", evidence="none", description="no micro-gesture evidence"),
        ConditionSpec(name="with_mg", evidence="timeline", description="the item's own timestamped MG transcript"),
        ConditionSpec(
            name="shuffled_mg",
            evidence="timeline",
            transcript="shuffled",
            description="control: another item's transcript (same kind and amount of evidence, link to the item broken)",
        ),
        ConditionSpec(
            name="aggregate_mg", evidence="aggregate", description="the item's own MG counts and total durations per class"
        ),
    )
}


class DemonstrationsSpec(_Strict):
    path: str = Field(
        description="items file of the split the demonstrations are drawn from (e.g. the training split), relative "
        "to the scenario file; same columns as items.path"
    )
    format: Optional[Literal["jsonl", "json", "csv"]] = Field(default=None, description="default: from the suffix")
    k: int = Field(ge=1, le=32, description="demonstrations before each query, label-balanced")
    seed: int = Field(default=0, description="seed of the draw (drawn per query item, the same under every condition)")


class ScoringSpec(_Strict):
    mode: Literal["logprobs", "generate"] = Field(
        default="logprobs",
        description="logprobs: log-probability of each label's text as the answer, prediction = argmax; "
        "generate: a short answer parsed to a label (unparseable = parse failure, counted wrong)",
    )
    constrain: bool = Field(default=False, description="generate mode: ask the backend to constrain output to the labels")


class GenerationSpec(_Strict):
    temperature: float = Field(default=0.0, ge=0.0)
    max_new_tokens: int = Field(default=16, ge=1, le=4096)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    seed: int = 0
    stop: list[str] = Field(default_factory=list)


class ScenarioSpec(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="stable identifier, used in run ids")
    version: Union[int, str] = Field(description="bump when prompts or items change, so results stay comparable")
    description: str = ""
    question: str = Field(min_length=1, description="the question asked about each item; available to templates")
    labels: list[LabelSpec] = Field(min_length=2, description="the closed label set")
    prompts: PromptsSpec
    items: ItemsSpec
    transcripts: TranscriptsSpec = Field(default_factory=TranscriptsSpec)
    conditions: list[Union[str, ConditionSpec]] = Field(
        default_factory=lambda: ["without_mg", "with_mg", "shuffled_mg"],
        description="built-in names (without_mg, with_mg, shuffled_mg, aggregate_mg) or full condition objects",
    )
    comparisons: Optional[list[tuple[str, str]]] = Field(
        default=None,
        description="(baseline, treatment) pairs; default: every condition vs without_mg, and with_mg vs shuffled_mg",
    )
    demonstrations: Optional[DemonstrationsSpec] = Field(
        default=None,
        description="k-shot: solved examples from a named split, rendered in the query's condition before it "
        "(off by default)",
    )
    answer_format: Literal["one_word", "open"] = Field(
        default="one_word",
        description="how the shipped templates ask for the answer (variable `answer_format`): one_word ends the "
        "user turn with 'Answer with one word: A or B.' (most of a small chat model's probability then starts "
        "with a label); open ends it with 'Answer:' (the model often starts a sentence instead; kept to measure "
        "the difference)",
    )
    scoring: ScoringSpec = Field(default_factory=ScoringSpec)
    generation: GenerationSpec = Field(default_factory=GenerationSpec)
    synthetic: bool = Field(default=False, description="true when the items are generated, not real data")

    @field_validator("labels")
    @classmethod
    def _unique_labels(cls, labels: list[LabelSpec]) -> list[LabelSpec]:
        seen: set[str] = set()
        for lab in labels:
            for key in [lab.name, *lab.aliases]:
                k = key.strip().lower()
                if k in seen:
                    raise ValueError(f"label name or alias {key!r} is used twice")
                seen.add(k)
        return labels

    @field_validator("conditions")
    @classmethod
    def _known_conditions(cls, conds: list[Union[str, ConditionSpec]]) -> list[Union[str, ConditionSpec]]:
        names = []
        for c in conds:
            if isinstance(c, str):
                if c not in BUILTIN_CONDITIONS:
                    raise ValueError(
                        f"unknown condition {c!r}; built-ins are {', '.join(BUILTIN_CONDITIONS)} "
                        "(or give an object with name/evidence/transcript)"
                    )
                names.append(c)
            else:
                names.append(c.name)
        if len(set(names)) != len(names):
            raise ValueError("condition names must be unique")
        if not names:
            raise ValueError("at least one condition is needed")
        return conds

    @model_validator(mode="after")
    def _known_comparisons(self) -> "ScenarioSpec":
        names = {c.name for c in self.condition_specs()}
        for a, b in self.comparisons or []:
            for n in (a, b):
                if n not in names:
                    raise ValueError(f"comparison refers to condition {n!r}, which is not in conditions")
        return self

    # ---- derived -----------------------------------------------------------
    @property
    def label_names(self) -> list[str]:
        return [lab.name for lab in self.labels]

    def condition_specs(self) -> list[ConditionSpec]:
        return [BUILTIN_CONDITIONS[c] if isinstance(c, str) else c for c in self.conditions]

    def comparison_pairs(self) -> list[tuple[str, str]]:
        if self.comparisons is not None:
            return [tuple(p) for p in self.comparisons]  # type: ignore[misc]
        names = [c.name for c in self.condition_specs()]
        pairs: list[tuple[str, str]] = []
        if "without_mg" in names:
            pairs += [("without_mg", n) for n in names if n != "without_mg"]
        if "with_mg" in names and "shuffled_mg" in names:
            pairs.append(("shuffled_mg", "with_mg"))
        return pairs
