"""The sweep file format (``sweeps/*.yaml``), validated by pydantic.

A sweep runs several models over several scenarios::

    id: cpu-demo
    models:
      - {name: smollm2-hf, backend: hf, model: smollm2-135m-instruct, options: {threads: 2}}
    scenarios: [../scenarios/demo_press_emotion.yaml]   # relative to the sweep file
    conditions: [without_mg, with_mg]                    # optional filter
    repeats: 1                                           # or seeds: [0, 1, 2]
    retries: 2
    output_dir: runs/sweeps/cpu-demo                     # relative to the working directory

Repeat ``r`` runs with seed ``seeds[r]``: it seeds the shuffled-evidence control (as
``run-scenario --seed``) and is added to the scenario's generation seed (so
``seeds: [0]`` reproduces ``mgreason run-scenario`` exactly).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Optional, Union

from pydantic import Field, ValidationError, field_validator, model_validator

from mgreason.configio import NAME_PATTERN, StrictModel, describe_validation_error, read_yaml
from mgreason.errors import MGReasonError

_NAME = NAME_PATTERN  # never "." or "..": names are path components


class SweepError(MGReasonError):
    """A sweep file is invalid, or a sweep cannot run / resume."""


_Strict = StrictModel  # the project's one config base (mgreason.configio)


class Resources(_Strict):
    """What one model's worker needs while it runs. The sweep runs as many workers at once as the machine's (or the
    Ray cluster's) resources allow, and pins each to its share: ``CUDA_VISIBLE_DEVICES`` for GPUs, CPU affinity and
    ``OMP_NUM_THREADS`` for CPU threads."""

    gpus: int = Field(default=0, ge=0, le=1024, description="GPUs (a vLLM model on gpus > 1 gets tensor_parallel_size = gpus "
                      "unless engine_args sets it)")
    cpus: Optional[int] = Field(default=None, ge=1, le=4096, description="CPU threads (default: 1 when other workers run "
                                "beside it, else all)")


class ModelEntry(_Strict):
    """One model of the sweep; it runs in its own subprocess."""

    name: str = Field(pattern=_NAME, description="short unique name, used in paths and in the report")
    backend: str = Field(default="hf", description="hf | vllm | openai | mock (tests)")
    model: Optional[str] = Field(
        default=None, description="alias, local directory, .gguf file or hub id (default: the embedded model)"
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="backend options (hf: dtype, device, threads; openai: base_url, ...)"
    )
    engine_args: dict[str, Any] = Field(
        default_factory=dict, description="engine arguments (vllm: passed to vllm.LLM(...))"
    )
    env: dict[str, str] = Field(default_factory=dict, description="extra environment of the model's subprocess")
    python: Optional[str] = Field(
        default=None,
        description="interpreter of the model's subprocess, e.g. ../.venv-vllm/bin/python for the vLLM CPU "
        "environment (relative to the sweep file; it must have mgreason installed); default: the current one",
    )
    batch_size: Optional[int] = Field(
        default=None, ge=1, description="prompts per batch written at once (default: the sweep's batch_size)"
    )
    request_delay_s: float = Field(
        default=0.0, ge=0.0, description="testing only: sleep this long per computed request (a slow model)"
    )
    resources: Optional[Resources] = Field(
        default=None, description="what the model's worker needs: {gpus: N, cpus: N} (default: nothing declared)"
    )

    def engine_args_for_run(self) -> dict[str, Any]:
        """The engine arguments the worker passes to the backend: a vLLM model declared on several GPUs runs
        tensor-parallel across them unless ``engine_args`` says otherwise."""
        args = dict(self.engine_args)
        gpus = self.resources.gpus if self.resources else 0
        if self.backend == "vllm" and gpus > 1 and "pipeline_parallel_size" not in args:
            args.setdefault("tensor_parallel_size", gpus)
        return args


class SweepSpec(_Strict):
    id: str = Field(pattern=_NAME, description="stable identifier of the sweep")
    description: str = ""
    models: list[ModelEntry] = Field(min_length=1)
    scenarios: list[str] = Field(min_length=1, description="scenario YAML files, relative to the sweep file")
    conditions: Optional[list[str]] = Field(
        default=None, description="run only these conditions (default: each scenario's own list)"
    )
    repeats: Optional[int] = Field(default=None, ge=1, description="repeats per cell (default: len(seeds) or 1)")
    seeds: Optional[list[int]] = Field(default=None, description="seed of each repeat (default: 0, 1, ...)")
    limit: Optional[int] = Field(default=None, ge=1, description="only the first N items of each scenario")
    output_dir: Optional[str] = Field(
        default=None, description="run directory, relative to the working directory (default: runs/sweeps/<id>)"
    )
    retries: int = Field(default=2, ge=0, le=100, description="retries of a failed request, and of a crashed model process")
    batch_size: int = Field(default=16, ge=1, description="prompts per batch (whole items); each batch is fsync'ed")
    cache: Union[bool, str] = Field(
        default=True,
        description="true: the shared response cache ($MGREASON_CACHE_DIR/responses.sqlite); "
        "a path (relative to the sweep file); false: no cache",
    )
    n_boot: int = Field(default=10000, ge=100, description="paired-bootstrap resamples in summaries and the report")
    max_parallel: Optional[int] = Field(
        default=None, ge=1, le=4096,
        description="model workers at once (default: as many as the declared resources allow when models declare "
        "resources, else 1)",
    )
    executor: Literal["local", "ray"] = Field(
        default="local", description="local: worker subprocesses on this machine; ray: one Ray task per model"
    )
    ray_address: Optional[str] = Field(
        default=None, description="executor ray: the cluster to join (e.g. ray://head:10001 or auto; default: a "
        "local Ray instance)"
    )

    @field_validator("models")
    @classmethod
    def _unique_models(cls, models: list[ModelEntry]) -> list[ModelEntry]:
        names = [m.name for m in models]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"model names must be unique; repeated: {', '.join(dup)}")
        return models

    @field_validator("scenarios")
    @classmethod
    def _unique_scenarios(cls, scenarios: list[str]) -> list[str]:
        if any(not s.strip() for s in scenarios):
            raise ValueError("empty scenario path")
        dup = sorted({s for s in scenarios if scenarios.count(s) > 1})
        if dup:
            raise ValueError(f"scenario listed twice: {', '.join(dup)}")
        return scenarios

    @field_validator("conditions")
    @classmethod
    def _conditions(cls, conds: Optional[list[str]]) -> Optional[list[str]]:
        if conds is None:
            return None
        if not conds:
            raise ValueError("conditions must not be empty (omit it to run every condition)")
        if len(set(conds)) != len(conds):
            raise ValueError("condition names must be unique")
        return conds

    @model_validator(mode="after")
    def _repeats_and_seeds(self) -> "SweepSpec":
        if self.seeds is None:
            self.seeds = list(range(self.repeats or 1))
        elif not self.seeds:
            raise ValueError("seeds must not be empty")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds must be unique")
        if self.repeats is None:
            self.repeats = len(self.seeds)
        if self.repeats != len(self.seeds):
            raise ValueError(f"repeats is {self.repeats} but {len(self.seeds)} seeds are given (one per repeat)")
        return self

    # ---- derived ----------------------------------------------------------
    def model(self, name: str) -> ModelEntry:
        for m in self.models:
            if m.name == name:
                return m
        raise SweepError(f"no model named {name!r} in the sweep", field="models")


def parse_sweep(data: Any, path: str | Path = "<sweep>") -> SweepSpec:
    if not isinstance(data, dict):
        raise SweepError("a sweep file must be a YAML mapping", file=path)
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as e:
        loc, msg = describe_validation_error(e)
        raise SweepError(msg, file=path, field=loc or None) from None


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file; every mistake is one :class:`SweepError` line naming file and field."""
    path = Path(path)
    data = read_yaml(path, error=SweepError)
    return parse_sweep(data, path)


def _expand(p: str) -> Path:
    return Path(os.path.expanduser(os.path.expandvars(p)))


def scenario_paths(spec: SweepSpec, sweep_file: str | Path) -> list[Path]:
    """The scenario files, resolved relative to the sweep file's directory."""
    base = Path(sweep_file).resolve().parent
    out = []
    for s in spec.scenarios:
        p = _expand(s)
        out.append(p if p.is_absolute() else (base / p).resolve())
    return out


def output_dir(spec: SweepSpec, override: Optional[str | Path] = None) -> Path:
    """The run directory: ``--out``, else ``output_dir`` (relative to the working directory), else runs/sweeps/<id>."""
    if override is not None:
        return _expand(str(override)).resolve()
    if spec.output_dir:
        return _expand(spec.output_dir).resolve()
    return (Path("runs") / "sweeps" / spec.id).resolve()


def python_path(entry: ModelEntry, sweep_file: str | Path) -> Optional[Path]:
    """The interpreter of a model's subprocess (None: the current one)."""
    if not entry.python:
        return None
    p = _expand(entry.python)
    if not p.is_absolute() and ("/" in entry.python or entry.python.startswith(".")):
        p = Path(sweep_file).resolve().parent / p
    elif not p.is_absolute():
        import shutil

        found = shutil.which(entry.python)
        p = Path(found) if found else p
    return Path(os.path.abspath(p))  # not resolve(): a venv's python is a symlink that must stay one


def cache_path(spec: SweepSpec, sweep_file: str | Path) -> Optional[Path]:
    """The response cache file, or None when the cache is off."""
    if spec.cache is False:
        return None
    if spec.cache is True:
        from mgreason.eval.cache import default_cache_path

        return default_cache_path()
    p = _expand(spec.cache)
    return p if p.is_absolute() else (Path(sweep_file).resolve().parent / p).resolve()


__all__ = [
    "ModelEntry",
    "Resources",
    "SweepError",
    "SweepSpec",
    "cache_path",
    "load_sweep",
    "output_dir",
    "parse_sweep",
    "python_path",
    "scenario_paths",
]
