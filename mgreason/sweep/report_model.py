"""The typed report model: every number of a report, for a sweep or a single run (issue 26).

``report.json`` is this model dumped; ``report.md`` and ``report.html`` are two Jinja templates over it
(:mod:`mgreason.sweep.report`), and ``mgreason view`` builds its overview from it. A single run
(``runs/<id>/``) is a report with one model and one scenario: the same tables, its own Holm family.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from mgreason.eval.records import CeilingSummary, ComparisonSummary, ConditionSummary


class ModelEntry(BaseModel):
    name: str
    backend: str
    model: str = "(default)"
    options: dict[str, Any] = Field(default_factory=dict)
    engine_args: dict[str, Any] = Field(default_factory=dict)


class ScenarioEntry(BaseModel):
    id: str
    path: str
    sha256: Optional[str] = None
    n_items: int
    conditions: list[str]


class Cells(BaseModel):
    total: int
    done: int
    failed: int
    pending: int


class CorruptFile(BaseModel):
    model: str
    scenario: str
    file: str
    lines: int


class Group(BaseModel):
    """One (model, scenario): its per-condition metrics and, from its summary.json, the ceiling and flags."""

    model_config = ConfigDict(protected_namespaces=())

    model: str
    scenario: str
    conditions: list[ConditionSummary] = Field(default_factory=list)
    ran: bool = False
    model_id: Optional[str] = None
    model_sha256: Optional[str] = None
    backend: Optional[str] = None
    labels: list[str] = Field(default_factory=list)
    n_records: int = 0
    n_planned: int = 0
    scoring_mode: Optional[str] = None
    ceiling: Optional[CeilingSummary] = None
    flags: list[str] = Field(default_factory=list)
    unlabelled: Optional[dict] = None  # items without gold labels: eval.unlabelled's summary, no accuracy

    def condition(self, name: str) -> Optional[ConditionSummary]:
        return next((c for c in self.conditions if c.condition == name), None)


class Comparison(ComparisonSummary):
    """A paired comparison of one (model, scenario); ``p_holm`` is adjusted across the whole report."""

    model_config = ConfigDict(protected_namespaces=())

    model: str
    scenario: str
    complete: bool = True
    valid: bool = Field(
        default=True, description="False when either condition's mean label mass is below 0.5 (label scores not meaningful)"
    )

    @property
    def pair(self) -> str:
        return f"{self.treatment} − {self.baseline}"


class Answer(BaseModel):
    prediction: Optional[str] = None
    correct: Optional[bool] = False  # None: an unlabelled item
    error: Optional[str] = None
    agreement: tuple[int, int] = (1, 1)
    evidence_from: Optional[str] = None

    @property
    def mark(self) -> str:
        pred = self.prediction if self.prediction is not None else ("error" if self.error else "?")
        k, n = self.agreement
        mark = "" if self.correct is None else (" ✓" if self.correct else " ✗")  # None: an unlabelled item
        return f"{pred}{mark}" + (f" ({k}/{n})" if n > 1 else "")


class ItemRow(BaseModel):
    gold: Optional[str] = None
    answers: dict[str, dict[str, Answer]] = Field(default_factory=dict, description="model -> condition -> answer")
    timeline: Optional[str] = Field(default=None, description="relative path of the item's timeline image")

    def flips(self, models: list[str], pair: Optional[tuple[str, str]]) -> bool:
        if not pair:
            return False
        for m in models:
            a = self.answers.get(m, {})
            if pair[0] in a and pair[1] in a and a[pair[0]].prediction != a[pair[1]].prediction:
                return True
        return False


class ScenarioItems(BaseModel):
    conditions: list[str]
    items: dict[str, ItemRow]
    pairs: list[tuple[str, str]] = Field(default_factory=list)


class Problem(BaseModel):
    model: str
    scenario: str
    condition: str
    item_id: str
    repeat: int = 0
    status: str
    attempts: int = 0
    error: Optional[str] = None


class Report(BaseModel):
    """Everything a report shows. ``kind``: a sweep directory or a single run directory."""

    kind: Literal["sweep", "run"] = "sweep"
    sweep: str = Field(description="the sweep id, or the run id of a single run")
    description: Optional[str] = None
    generated: str
    mgreason_version: str
    run_dir: str
    models: list[ModelEntry]
    scenarios: list[ScenarioEntry]
    repeats: int = 1
    seeds: list[int] = Field(default_factory=lambda: [0])
    n_boot: int
    bootstrap_seed: int = 0
    cells: Cells
    corrupt_records: list[CorruptFile] = Field(default_factory=list)
    groups: list[Group]
    comparisons: list[Comparison]
    holm_family_size: int
    primary: Optional[tuple[str, str]] = None
    problems: list[Problem] = Field(default_factory=list)
    items: dict[str, ScenarioItems]

    # ---- views the templates share (never stored) ----
    @property
    def model_names(self) -> list[str]:
        return [m.name for m in self.models]

    @property
    def scenario_ids(self) -> list[str]:
        return [s.id for s in self.scenarios]

    @property
    def all_conditions(self) -> list[str]:
        return list(dict.fromkeys(c for s in self.scenarios for c in s.conditions))

    def group(self, model: str, scenario: str) -> Optional[Group]:
        return next((g for g in self.groups if g.model == model and g.scenario == scenario), None)

    def comparison(self, model: str, scenario: str, pair: Optional[tuple[str, str]]) -> Optional[Comparison]:
        if pair is None:
            return None
        return next(
            (c for c in self.comparisons if (c.model, c.scenario, c.baseline, c.treatment) == (model, scenario, *pair)),
            None,
        )

    @property
    def has_label_mass(self) -> bool:
        return any(c.label_mass_mean is not None for g in self.groups for c in g.conditions)

    @property
    def label_mass_warnings(self) -> list[str]:
        from mgreason.eval.label_mass import low_mass_warning

        return [
            f"{g.model} / {g.scenario} / {w}"
            for g in self.groups
            for c in g.conditions
            if (w := low_mass_warning(c.condition, c.label_mass_mean))
        ]

    @property
    def flags(self) -> list[tuple[str, list[str]]]:
        """Every flag of the report, each text once, with the (model / scenario) groups it concerns.

        Per-group flags come from the runs' summary.json (constant answers, margin ties, verdicts...);
        low label mass is grouped by the condition names it affects, so a sweep where every cell has the
        same problem says it once instead of once per cell."""
        seen: dict[str, list[str]] = {}
        low = [
            (g, c)
            for g in self.groups
            for c in g.conditions
            if c.label_mass_mean is not None and c.label_mass_mean < 0.5
        ]
        if low:
            from mgreason.eval.label_mass import LOW_LABEL_MASS, LOW_LABEL_MASS_WARNING

            text = f"mean label mass < {LOW_LABEL_MASS}: {LOW_LABEL_MASS_WARNING}"
            seen[text] = [
                f"{g.model} / {g.scenario} / {c.condition} ({c.label_mass_mean:.2f})" for g, c in low
            ]
        for g in self.groups:
            for f in g.flags:
                if "label mass" in f:  # said once above
                    continue
                seen.setdefault(f, []).append(f"{g.model} / {g.scenario}")
        return list(seen.items())

    @property
    def ceilings(self) -> dict[str, CeilingSummary]:
        """scenario -> the evidence ceiling of its items (no LLM involved, so the same for every model: the
        first group that has one)."""
        out: dict[str, CeilingSummary] = {}
        for g in self.groups:
            if g.ceiling is not None and g.scenario not in out:
                out[g.scenario] = g.ceiling
        return out

    @property
    def explained(self) -> list[Comparison]:
        """The comparisons with a margin shift or a verdict ('did the model use the evidence?')."""
        return [c for c in self.comparisons if c.margin_shift is not None or c.verdict]

    def item_rows(self, sid: str, limit: Optional[int] = None) -> tuple[list[tuple[str, ItemRow, bool]], bool]:
        """(item id, row, flips) in scenario order; over ``limit`` items only the flips (and True)."""
        view = self.items[sid]
        rows = [(i, it, it.flips(self.model_names, self.primary)) for i, it in view.items.items()]
        if limit is not None and len(rows) > limit:
            return [r for r in rows if r[2]], True
        return rows, False

    def ordered_conditions(self, sid: str) -> list[str]:
        cs = list(self.items[sid].conditions)
        if self.primary:
            cs = [c for c in self.primary if c in cs] + [c for c in cs if c not in self.primary]
        return cs


__all__ = [
    "Answer",
    "Cells",
    "Comparison",
    "CorruptFile",
    "Group",
    "ItemRow",
    "ModelEntry",
    "Problem",
    "Report",
    "ScenarioEntry",
    "ScenarioItems",
]
