"""The recogniser network: stream input -> ST-GCN++ backbone(s) -> fusion head(s).

``arch`` (a plain dict, stored in a checkpoint's ``config.json``) fully describes the network::

    {"layout": "imigue22", "num_classes": 33, "coord_channels": 2, "use_confidence": true,
     "streams": ["joint", "bone", "motion"], "stream_fusion": "early",
     "backbone": {BackboneSpec fields}, "fusion": {FusionSpec fields}}

*Early* stream fusion stacks the streams as input channels of one backbone (cheapest); *late* fusion
runs one backbone + head per stream and mixes their logits with learned softmax weights initialised
at PYSKL's 2:2:1:1 (joint:bone:motion:bone-motion).

The whole network is convolutional in time: :meth:`RecognizerModel.dense` maps a sequence of any
length to per-frame logits and features at the input frame rate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Optional

import numpy as np
import torch
import torch.nn.functional as Fn
from torch import nn

from mgreason.recognizer.backbone import PRESETS, BackboneSpec, STGCNBackbone
from mgreason.recognizer.fusion import FusionHead, FusionSpec, HeadOutput
from mgreason.recognizer.graph import normalized_adjacency, spatial_subsets
from mgreason.recognizer.preprocessing import stream_channels
from mgreason.skeleton.layouts import get_layout

__all__ = ["RecognizerModel", "ModelOutput", "build_model", "arch_from_config", "STREAM_PRIOR"]

STREAM_PRIOR = {"joint": 2.0, "bone": 2.0, "motion": 1.0, "bone_motion": 1.0}


@dataclass
class ModelOutput:
    logits: torch.Tensor  # (N, K) clip level, or (N, K, T) dense
    features: torch.Tensor  # (N, C) or (N, C, T) (late fusion: stream features concatenated)
    heads: list[HeadOutput]
    gate: Optional[torch.Tensor]  # (N, 2) / (N, 2, T) spatial vs temporal weight, averaged over streams


def _spec_from_dict(cls, d: dict[str, Any]):
    names = {f.name for f in fields(cls)}
    kw = {k: (tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) else v)
          for k, v in d.items() if k in names}  # fmt: skip
    return cls(**kw)


def arch_from_config(model_cfg: Any, layout: str, num_classes: int, coord_channels: int) -> dict[str, Any]:
    """The ``arch`` dict for a :class:`~mgreason.recognizer.config.ModelConfig`."""
    spec = PRESETS[model_cfg.size]
    over = {}
    for k in ("base_channels", "num_blocks"):
        if getattr(model_cfg, k) is not None:
            over[k] = getattr(model_cfg, k)
    for k in ("inflate_blocks", "down_blocks"):
        if getattr(model_cfg, k) is not None:
            over[k] = tuple(getattr(model_cfg, k))
    over["dropout"] = model_cfg.tcn_dropout
    over["adaptive"] = model_cfg.adaptive
    spec = BackboneSpec(**{**asdict(spec), **over})
    return {
        "layout": get_layout(layout).name,
        "num_classes": int(num_classes),
        "coord_channels": int(coord_channels),
        "use_confidence": bool(model_cfg.use_confidence),
        "streams": list(model_cfg.streams),
        "stream_fusion": model_cfg.stream_fusion,
        "size": model_cfg.size,
        "backbone": _jsonable(asdict(spec)),
        "fusion": _jsonable(model_cfg.fusion.model_dump()),
    }


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    def conv(v: Any) -> Any:
        if isinstance(v, tuple):
            return [conv(x) for x in v]
        return v

    return {k: conv(v) for k, v in d.items()}


class _Branch(nn.Module):
    def __init__(self, in_channels: int, A: np.ndarray, adj: np.ndarray, spec: BackboneSpec, fusion: FusionSpec, k: int):
        super().__init__()
        self.backbone = STGCNBackbone(in_channels, A, spec)
        self.head = FusionHead(self.backbone.out_channels, k, adj, fusion)


class RecognizerModel(nn.Module):
    def __init__(self, arch: dict[str, Any]):
        super().__init__()
        self.arch = dict(arch)
        lay = get_layout(arch["layout"])
        self.layout = lay.name
        self.num_classes = int(arch["num_classes"])
        self.streams = list(arch["streams"])
        self.stream_fusion = arch.get("stream_fusion", "early")
        self.per_stream_channels = stream_channels(int(arch["coord_channels"]), bool(arch.get("use_confidence", True)))
        self.in_channels = self.per_stream_channels * len(self.streams)
        spec = _spec_from_dict(BackboneSpec, arch.get("backbone", {}))
        fspec = _spec_from_dict(FusionSpec, arch.get("fusion", {}))
        A = spatial_subsets(lay)
        adj = normalized_adjacency(lay)
        if self.stream_fusion == "early":
            self.branches = nn.ModuleList([_Branch(self.in_channels, A, adj, spec, fspec, self.num_classes)])
            self.register_parameter("stream_logit", None)
        elif self.stream_fusion == "late":
            self.branches = nn.ModuleList(
                [_Branch(self.per_stream_channels, A, adj, spec, fspec, self.num_classes) for _ in self.streams]
            )
            prior = torch.tensor([STREAM_PRIOR[s] for s in self.streams])
            self.stream_logit = nn.Parameter(torch.log(prior / prior.sum()))
        else:
            raise ValueError(f"unknown stream_fusion {self.stream_fusion!r}")
        self.temporal_stride = self.branches[0].backbone.temporal_stride

    # ------------------------------------------------------------------ helpers
    def _inputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.shape[1] != self.in_channels:
            raise ValueError(f"expected {self.in_channels} input channels, got {x.shape[1]}")
        if self.stream_fusion == "early":
            return [x]
        c = self.per_stream_channels
        return [x[:, i * c : (i + 1) * c] for i in range(len(self.streams))]

    def stream_weights(self) -> Optional[torch.Tensor]:
        return torch.softmax(self.stream_logit, 0) if self.stream_logit is not None else None

    def _combine(self, outs: list[HeadOutput]) -> ModelOutput:
        if len(outs) == 1:
            o = outs[0]
            return ModelOutput(o.logits, o.features, outs, o.gate)
        w = self.stream_weights()
        logits = sum(wi * o.logits for wi, o in zip(w, outs))
        feats = torch.cat([o.features for o in outs], dim=1)
        gates = [o.gate for o in outs if o.gate is not None]
        gate = torch.stack(gates).mean(0) if gates else None
        return ModelOutput(logits, feats, outs, gate)

    @staticmethod
    def _fold_persons(x: torch.Tensor) -> tuple[torch.Tensor, int]:
        if x.dim() == 5:
            n, c, t, v, m = x.shape
            return x.permute(0, 4, 1, 2, 3).reshape(n * m, c, t, v), m
        return x, 1

    # ------------------------------------------------------------------ clip level
    def forward(self, x: torch.Tensor) -> ModelOutput:
        """``x`` (N, C, T, V) or (N, C, T, V, M) -> clip logits (N, K) (persons averaged)."""
        x, m = self._fold_persons(x)
        outs = []
        for br, xi in zip(self.branches, self._inputs(x)):
            f = br.backbone(xi)
            if m > 1:
                f = f.view(-1, m, *f.shape[1:]).mean(1)
            outs.append(br.head(f))
        return self._combine(outs)

    def losses(self, out: ModelOutput, target: torch.Tensor, label_smoothing: float = 0.0) -> dict[str, torch.Tensor]:
        if len(out.heads) == 1:
            return self.branches[0].head.losses(out.heads[0], target, label_smoothing)
        parts: dict[str, torch.Tensor] = {"ce": Fn.cross_entropy(out.logits, target, label_smoothing=label_smoothing)}
        for s, br, o in zip(self.streams, self.branches, out.heads):
            for k, v in br.head.losses(o, target, label_smoothing).items():
                parts[f"{s}.{k}"] = v / len(self.streams)
        return parts

    # ------------------------------------------------------------------ per frame
    def dense(self, x: torch.Tensor, window: Optional[int] = None, upsample: bool = True) -> ModelOutput:
        """Per-frame outputs for a sequence of any length: logits (N, K, T), features (N, C, T).

        The backbone runs once over the whole sequence (no fixed T anywhere); its output at stride
        ``temporal_stride`` is mapped back to the input frames by linear interpolation when
        ``upsample`` (frame ``i`` of the input sits at position ``i / stride`` of the output).
        """
        x, m = self._fold_persons(x)
        t_in = x.shape[2]
        outs = []
        for br, xi in zip(self.branches, self._inputs(x)):
            f = br.backbone(xi)
            if m > 1:
                f = f.view(-1, m, *f.shape[1:]).mean(1)
            outs.append(br.head.dense(f, window))
        out = self._combine(outs)
        if upsample:
            out = ModelOutput(
                _upsample(out.logits, t_in, self.temporal_stride),
                _upsample(out.features, t_in, self.temporal_stride),
                out.heads,
                _upsample(out.gate, t_in, self.temporal_stride) if out.gate is not None else None,
            )
        return out


def _upsample(y: torch.Tensor, t_out: int, stride: int) -> torch.Tensor:
    """(N, C, T') -> (N, C, t_out): linear interpolation with input frame i at position i / stride."""
    t_src = y.shape[-1]
    if t_src == t_out:
        return y
    pos = torch.arange(t_out, device=y.device, dtype=torch.float32) / stride
    pos = pos.clamp(0, t_src - 1)
    i0 = pos.floor().long()
    i1 = (i0 + 1).clamp(max=t_src - 1)
    a = (pos - i0.float()).to(y.dtype)
    return y[..., i0] * (1 - a) + y[..., i1] * a


def build_model(arch: dict[str, Any]) -> RecognizerModel:
    return RecognizerModel(arch)
