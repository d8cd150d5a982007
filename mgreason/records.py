"""What a run writes to disk: config.json, samples.jsonl, summary.json (pydantic models)."""

from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field


class SampleRecord(BaseModel):
    """One item under one condition: exactly what the model saw and answered."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    scenario_id: str
    item_id: str
    condition: str
    repeat: int = 0
    prompt_sha256: str
    messages: list[dict[str, str]]
    prompt_text: Optional[str] = Field(default=None, description="the prompt after the model's chat template")
    evidence_from: Optional[str] = Field(default=None, description="item whose transcript was shown")
    raw_output: Optional[str] = None
    label_logprobs: Optional[dict[str, float]] = None
    prediction: Optional[str] = None
    gold: str
    correct: bool
    parse_ok: bool
    error: Optional[str] = None


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    run_id: str
    created: str
    mgreason_version: str
    scenario_id: str
    scenario_version: str
    scenario_path: str
    scenario_sha256: str
    scenario: dict[str, Any] = Field(description="the resolved scenario spec")
    backend: str
    model: dict[str, Any] = Field(description="model identity: id, resolved path, weights sha256, dtype")
    generation: dict[str, Any]
    scoring_mode: str
    seed: int
    limit: Optional[int]
    n_items: int
    conditions: list[str]
    labels: list[str]


class ConditionSummary(BaseModel):
    condition: str
    n: int
    n_correct: int
    accuracy: float
    acc_ci_low: float
    acc_ci_high: float
    macro_f1: float
    uar: float
    n_parse_fail: int
    n_errors: int = 0


class ComparisonSummary(BaseModel):
    baseline: str
    treatment: str
    n: int
    acc_baseline: float
    acc_treatment: float
    delta_acc: float
    delta_acc_ci: tuple[float, float]
    delta_macro_f1: float
    delta_macro_f1_ci: tuple[float, float]
    mcnemar_b: int = Field(description="baseline correct, treatment wrong")
    mcnemar_c: int = Field(description="baseline wrong, treatment correct")
    mcnemar_p: float
    n_boot: int
    seed: int


class RunSummary(BaseModel):
    run_id: str
    scenario_id: str
    model: str
    backend: str
    n_items: int
    seconds: float
    conditions: list[ConditionSummary]
    comparisons: list[ComparisonSummary]
