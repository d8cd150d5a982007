"""Training configuration (pydantic, read from YAML).

One file describes data, model, augmentations and the optimisation; see ``configs/recognizer/*.yaml``.
Unknown keys are errors (a typo must not silently fall back to a default). Relative paths in the
file are resolved against the file's directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Optional, Union

from pydantic import Field, ValidationError, field_validator, model_validator

from mgreason.configio import StrictModel, describe_validation_error, read_yaml
from mgreason.errors import MGReasonError

__all__ = [
    "TrainConfig",
    "DataConfig",
    "SynthDataConfig",
    "TimeSplitConfig",
    "RealBackgroundConfig",
    "ModelConfig",
    "FusionConfig",
    "AugmentConfig",
    "OptimConfig",
    "load_config",
    "STREAMS",
]

STREAMS = ("joint", "bone", "motion", "bone_motion")


_Strict = StrictModel  # the project's one config base (mgreason.configio)


# --------------------------------------------------------------------------- data
class SynthDataConfig(_Strict):
    """Clips from the seeded synthetic generator, split by subject."""

    subjects: int = Field(12, ge=2, description="number of synthetic subjects")
    test_subjects: int = Field(3, ge=1, description="held-out test subjects")
    val_subjects: int = Field(0, ge=0, description="held-out validation subjects (pick the best epoch on them)")
    clips_per_class: int = Field(60, ge=1, description="clips per class (all subjects together)")
    classes: Optional[list[Union[int, str]]] = Field(
        None, description="raw iMiGUE ids or class names to generate (default: every class the generator knows)"
    )
    background: bool = Field(True, description="add a background/idle class (no micro-gesture)")
    background_clips: Optional[int] = Field(None, ge=1, description="idle clips in all (default: clips_per_class)")
    noise: float = Field(1.0, ge=0, description="generator tracker noise / dropout level")
    amplitude: float = Field(1.0, gt=0, description="generator gesture amplitude factor")
    still: float = Field(0.0, ge=0, le=1, description="generator tracker holds still while the body does (0 = off)")
    jitter: float = Field(1.0, ge=0, le=5, description="generator white tracker-jitter factor")
    grid_px: float = Field(0.0, ge=0, le=20, description="generator reports positions on this pixel grid (0 = off)")
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> "SynthDataConfig":
        if self.test_subjects + self.val_subjects >= self.subjects:
            raise ValueError(
                f"test_subjects + val_subjects ({self.test_subjects + self.val_subjects}) must be smaller than "
                f"subjects ({self.subjects})"
            )
        return self


class TimeSplitConfig(_Strict):
    """Within-recording split by time (seconds): one span fits, another checks. Spans must not overlap;
    an annotation belongs to the span that holds all of it (one that straddles a boundary is dropped)."""

    train: tuple[float, float]
    val: Optional[tuple[float, float]] = None
    test: Optional[tuple[float, float]] = Field(None, description="default: the val span (then test = val)")

    @model_validator(mode="after")
    def _check(self) -> "TimeSplitConfig":
        spans = [s for s in (self.train, self.val, self.test) if s is not None]
        for a, b in spans:
            if not (0 <= a < b):
                raise ValueError(f"bad time span [{a}, {b}]")
        tr = self.train
        for other in (self.val, self.test):
            if other is not None and other[0] < tr[1] and tr[0] < other[1]:
                raise ValueError(f"the train span {list(tr)} overlaps {list(other)}")
        if self.val is None and self.test is None:
            raise ValueError("give a val or a test span")
        return self


class RealBackgroundConfig(_Strict):
    """Background (no micro-gesture) windows cut from real recordings between annotations."""

    per_minute: float = Field(0.0, ge=0, description="windows per minute of recording (0 = no background class)")
    min_s: float = Field(1.0, gt=0)
    max_s: float = Field(4.0, gt=0)
    margin_s: float = Field(0.6, ge=0, description="distance kept from every annotation")


class DataConfig(_Strict):
    source: Literal["synth", "pyskl", "stgcn", "miga", "smg", "openpose", "auto"] = Field(
        "synth",
        description="auto: a .pkl is PYSKL; a directory is an ST-GCN split, a MiGA iMiGUE release (<vid>/<vid>_openpose.xlsx "
        "or _light_hand.csv + _label.csv), an SMG release (SampleNNNN/...) or one OpenPose JSON directory",
    )
    path: Optional[Path] = Field(
        None, description="PYSKL .pkl, ST-GCN directory/prefix, MiGA or SMG release directory, OpenPose JSON directory"
    )
    layout: str = Field("imigue22", description="joint layout of the model (data in other layouts are mapped by name)")
    source_layout: Optional[str] = Field(None, description="layout of the data files when they do not say (ST-GCN)")
    fps: float = Field(25.0, gt=0, description="model frame rate; sequences at another rate are resampled")
    clip_len: int = Field(48, ge=4, description="frames per clip fed to the model (uniform segment sampling)")
    split: Literal["auto", "file", "imigue_xsub", "random"] = Field(
        "auto",
        description="auto: the file's own train/test split, else the iMiGUE cross-subject split, else random",
    )
    train_split: str = "train"
    val_split: Optional[str] = Field("val", description="file split used to pick the best epoch (if present)")
    test_split: str = "test"
    labels_csv: Optional[Path] = Field(
        None, description="iMiGUE labels_20200831.csv, maps video ids to subjects for the cross-subject split"
    )
    splits_json: Optional[Path] = Field(
        None, description="iMiGUE splits.json: its mg_recognition_subject_split replaces the built-in copy of the protocol"
    )
    video_id: Optional[int] = Field(None, description="openpose source: the iMiGUE video id (default: the file name prefix)")
    time_split: Optional[TimeSplitConfig] = Field(None, description="split one recording by time instead of by subject")
    background: RealBackgroundConfig = Field(default_factory=RealBackgroundConfig)
    smg_coords: Literal["world", "pixel"] = Field("world", description="SMG: 3D world or 2D pixel coordinates")
    repeat_train: int = Field(1, ge=1, le=100, description="real data: each training clip is seen this many times per epoch")
    mix_synth: Optional[SynthDataConfig] = Field(
        None, description="real data: add the training clips of this synthetic set (keeps the classes real data lack)"
    )
    taxonomy: str = Field("imigue", description="class names for integer labels of real data")
    min_confidence: float = Field(0.0, ge=0, le=1)
    max_clips: Optional[int] = Field(None, ge=1, description="use at most this many clips per split (smoke tests)")
    synth: SynthDataConfig = Field(default_factory=SynthDataConfig)


# --------------------------------------------------------------------------- model
class FusionConfig(_Strict):
    mode: Literal["none", "concat", "fixed", "gate"] = "gate"
    gate: Literal["sample", "channel"] = "sample"
    tau: float = Field(1.0, gt=0)
    aux_weight: float = Field(0.3, ge=0)
    balance_weight: float = Field(0.1, ge=0)
    gap_residual: bool = True
    dropout: float = Field(0.0, ge=0, lt=1)
    dense_window: int = Field(8, ge=1)


class ModelConfig(_Strict):
    size: Literal["tiny", "small", "base"] = "tiny"
    base_channels: Optional[int] = Field(None, ge=4)
    num_blocks: Optional[int] = Field(None, ge=1)
    inflate_blocks: Optional[list[int]] = None
    down_blocks: Optional[list[int]] = None
    tcn_dropout: float = Field(0.0, ge=0, lt=1)
    adaptive: Literal["offset", "fixed", "init"] = "offset"
    streams: list[str] = Field(default_factory=lambda: ["joint", "bone", "motion"])
    stream_fusion: Literal["early", "late"] = Field(
        "early", description="early: streams stacked as input channels of one backbone; late: one backbone per stream"
    )
    use_confidence: bool = Field(True, description="append the keypoint confidence as an input channel")
    fusion: FusionConfig = Field(default_factory=FusionConfig)

    @field_validator("streams")
    @classmethod
    def _streams(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one stream is needed")
        bad = [s for s in v if s not in STREAMS]
        if bad:
            raise ValueError(f"unknown stream(s) {bad}; choose from {list(STREAMS)}")
        if len(set(v)) != len(v):
            raise ValueError("duplicate streams")
        return v


# --------------------------------------------------------------------------- augmentation
class _Aug(_Strict):
    p: float = Field(0.0, ge=0, le=1, description="probability per clip (0 = off)")


class RotateAug(_Aug):
    max_deg: float = Field(10.0, ge=0, le=45)


class ScaleAug(_Aug):
    low: float = Field(0.9, gt=0)
    high: float = Field(1.1, gt=0)
    anisotropy: float = Field(0.05, ge=0, le=0.3)


class ShearAug(_Aug):
    max_shear: float = Field(0.1, ge=0, le=0.3)


class JitterAug(_Aug):
    sigma: float = Field(0.005, ge=0, le=0.05, description="std in shoulder-width units (MG amplitude is ~0.1-0.5)")


class SpeedAug(_Aug):
    low: float = Field(0.8, gt=0)
    high: float = Field(1.25, gt=0)


class MotionCropAug(_Aug):
    min_ratio: float = Field(0.6, gt=0, le=1)
    keep_energy: float = Field(0.8, gt=0, le=1, description="the crop keeps at least this share of the motion energy")


class RepeatCropAug(_Aug):
    min_cycles: float = Field(1.0, ge=1)
    min_periodicity: float = Field(0.3, ge=0, le=1, description="autocorrelation peak above which a clip counts as periodic")
    tile_p: float = Field(0.3, ge=0, le=1, description="probability of looping the kept cycles to vary the repeat count")


class PosterizeAug(_Aug):
    max_hold: int = Field(3, ge=2, le=8)


class MaskAug(_Aug):
    max_parts: int = Field(1, ge=1, le=3)


class FlipAug(_Aug):
    pass


class AugmentConfig(_Strict):
    """MG-aware augmentations; each has a probability ``p`` (0 = off). Temporal ones run on the raw
    clip (before sampling ``clip_len`` frames), spatial ones on the normalised clip."""

    rotate: RotateAug = Field(default_factory=RotateAug)
    scale: ScaleAug = Field(default_factory=ScaleAug)
    shear: ShearAug = Field(default_factory=ShearAug)
    jitter: JitterAug = Field(default_factory=JitterAug)
    speed: SpeedAug = Field(default_factory=SpeedAug)
    motion_crop: MotionCropAug = Field(default_factory=MotionCropAug)
    repeat_crop: RepeatCropAug = Field(default_factory=RepeatCropAug)
    posterize: PosterizeAug = Field(default_factory=PosterizeAug)
    mask: MaskAug = Field(default_factory=MaskAug)
    flip: FlipAug = Field(default_factory=FlipAug)
    random_sampling: bool = Field(True, description="training picks a random frame per segment (PYSKL UniformSampleFrames)")

    def enabled(self) -> list[str]:
        return [n for n in AUG_NAMES if getattr(self, n).p > 0]


AUG_NAMES = ("speed", "motion_crop", "repeat_crop", "posterize", "rotate", "scale", "shear", "jitter", "mask", "flip")


# --------------------------------------------------------------------------- optimisation
class OptimConfig(_Strict):
    epochs: int = Field(20, ge=1)
    batch_size: int = Field(32, ge=1)
    optimizer: Literal["sgd", "adamw"] = "adamw"
    lr: float = Field(2e-3, gt=0)
    weight_decay: float = Field(5e-4, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    warmup_epochs: float = Field(1.0, ge=0)
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    grad_clip: Optional[float] = Field(5.0, gt=0)
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N")
    amp: bool = Field(True, description="mixed precision on CUDA (ignored on CPU)")
    num_threads: Optional[int] = Field(None, ge=1, description="torch CPU threads (default: torch's choice)")
    num_workers: int = Field(0, ge=0, description="DataLoader worker processes")
    eval_every: int = Field(1, ge=1)
    max_minutes: Optional[float] = Field(None, gt=0, description="stop after this many minutes (keeps the best checkpoint)")
    max_steps: Optional[int] = Field(None, ge=1, description="stop after this many optimiser steps (tests)")


class TrainConfig(_Strict):
    name: str = "recognizer"
    seed: int = 0
    out_dir: Optional[Path] = Field(None, description="default: runs/recognizer/<name>")
    description: str = ""
    init_checkpoint: Optional[str] = Field(
        None,
        description="fine-tune: start from this checkpoint directory, or a bundled checkpoint by name ('tiny-synth'); its architecture "
        "and class list are kept (clips of classes it does not know are left out)",
    )
    tune_segmentation: bool = Field(
        False, description="after training, choose the checkpoint's segmentation thresholds on the val time span"
    )
    calibrate: bool = Field(
        False, description="after training, fit a temperature on the validation clips (ECE before/after in the checkpoint)"
    )
    coarse_below: Union[float, Literal["tune"]] = Field(
        0.0,
        description="events less confident than this carry their body-region group (0 = never); 'tune': chosen on "
        "the validation span (the threshold that maximises the mean of fine and coarse F1@0.3; ties: the lower)",
    )

    @field_validator("coarse_below")
    @classmethod
    def _coarse(cls, v: Union[float, str]) -> Union[float, str]:
        if v != "tune" and not 0.0 <= float(v) <= 1.0:
            raise ValueError("must be in [0, 1] or 'tune'")
        return v
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)

    def resolved_out_dir(self) -> Path:
        return Path(self.out_dir) if self.out_dir else Path("runs") / "recognizer" / self.name


def parse_config(data: dict[str, Any], source: str | Path | None = None) -> TrainConfig:
    try:
        return TrainConfig.model_validate(data or {})
    except ValidationError as e:
        field, msg = describe_validation_error(e)
        raise MGReasonError(msg, file=source, field=field or "config") from None


def _read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A YAML mapping; ``extends: other.yaml`` (relative to this file) is read first and deep-merged under it."""
    data = read_yaml(path) or {}
    if not isinstance(data, dict):
        raise MGReasonError("the config must be a mapping", file=path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    ppath = (path.parent / str(parent)).resolve()
    if ppath in seen:
        raise MGReasonError("circular 'extends'", file=path, field="extends")
    return _merge(_read_yaml(ppath, seen + (path.resolve(),)), data)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_config(path: str | Path, overrides: Optional[dict[str, Any]] = None) -> TrainConfig:
    """Read a YAML config; ``overrides`` are dotted keys (``{"optim.epochs": 2}``) applied on top.

    A config may start with ``extends: other.yaml`` and give only what differs."""
    path = Path(path)
    data = _read_yaml(path)
    for key, value in (overrides or {}).items():
        _set_dotted(data, key, value)
    cfg = parse_config(data, path)
    base = path.resolve().parent
    d = cfg.data
    if d.path is not None and not Path(d.path).is_absolute():
        d.path = _resolve(base, d.path)
    if d.labels_csv is not None and not Path(d.labels_csv).is_absolute():
        d.labels_csv = _resolve(base, d.labels_csv)
    if d.splits_json is not None and not Path(d.splits_json).is_absolute():
        d.splits_json = _resolve(base, d.splits_json)
    ck = cfg.init_checkpoint
    if ck and ("/" in ck or "\\" in ck) and not Path(ck).is_absolute():  # a path (a bare name is a bundled checkpoint)
        cfg.init_checkpoint = str(_resolve(base, Path(cfg.init_checkpoint)))
    return cfg


def _resolve(base: Path, p: Path) -> Path:
    """Relative to the config file if it exists there, else relative to the working directory."""
    cand = base / p
    return cand if cand.exists() or not Path(p).exists() else Path(p)


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    cur = data
    for p in parts[:-1]:
        nxt = cur.get(p)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[p] = nxt
        cur = nxt
    cur[parts[-1]] = value
