"""The spatio-temporal balanced fusion (STBF) plug-in and the plain classification head.

Placed after the backbone, before the classifier. Input ``F`` of shape ``(N, C, T, V)``.

* **Spatial branch** — average ``F`` over time (the whole clip, or a local window in dense mode), one
  graph-mixing layer over the layout's normalised adjacency plus a learnable zero-initialised offset
  (so hand and face joints can interact, e.g. for contacts), residual, then mean over joints → ``s``.
* **Temporal branch** — pool over joints with *motion-weighted* attention (softmax over joints of the
  per-joint feature speed, learnable sharpness), concatenate the first difference (velocity), 1x1
  projection, multi-scale depthwise temporal conv (k=3, dilations 1, 2, 4), residual, then attention
  pooling over time → ``t`` (per frame in dense mode).
* **Balancing gate** — ``g = softmax(MLP([s, t, |s - t|]) / tau)``; the last MLP layer is zero
  initialised so ``g = (1/2, 1/2)`` at the start. ``z = g_s * s + g_t * t + gamma * GAP(F)`` with
  ``gamma`` initialised to 0.
* **Keeping it balanced** — auxiliary linear classifiers on ``s`` and ``t`` (deep supervision) and a
  penalty ``KL(mean_batch(g) || uniform)`` against gate collapse (see :meth:`FusionHead.losses`).

``mode`` selects the ablation variant: ``none`` (plain backbone: GAP + linear), ``concat`` (linear on
``[s, t]``), ``fixed`` (z = (s + t) / 2), ``gate`` (the learned gate). Works for every layout: it only
needs the adjacency the backbone already uses.

Every head has two entry points: :meth:`forward` (clip level, returns logits and extras) and
:meth:`dense` (per time step, for localisation over long sequences).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as Fn
from torch import nn

__all__ = ["FusionSpec", "FusionHead", "HeadOutput", "FUSION_MODES", "gate_spread", "gate_collapse_warning"]

FUSION_MODES = ("none", "concat", "fixed", "gate")


@dataclass(frozen=True)
class FusionSpec:
    mode: str = "gate"  # none | concat | fixed | gate
    gate: str = "sample"  # "sample" (2 weights per sample) | "channel" (2 x C weights)
    tau: float = 1.0  # gate softmax temperature
    aux_weight: float = 0.3  # weight of the auxiliary branch losses (mean of the two)
    balance_weight: float = 0.1  # weight of KL(mean gate || uniform)
    gap_residual: bool = True  # z += gamma * GAP(F), gamma initialised at 0
    dropout: float = 0.0  # dropout before the classifier
    dense_window: int = 8  # dense mode: window (backbone time steps) of the spatial branch's time pooling


@dataclass
class HeadOutput:
    logits: torch.Tensor  # (N, K) or (N, K, T) in dense mode
    features: torch.Tensor  # (N, C) or (N, C, T): the fused embedding fed to the classifier
    aux_spatial: Optional[torch.Tensor] = None
    aux_temporal: Optional[torch.Tensor] = None
    gate: Optional[torch.Tensor] = None  # (N, 2) or (N, 2, T); channel gates are averaged over channels


class _SpatialBranch(nn.Module):
    def __init__(self, channels: int, adjacency: np.ndarray):
        super().__init__()
        A = torch.as_tensor(np.asarray(adjacency), dtype=torch.float32)
        self.register_buffer("A", A)
        self.offset = nn.Parameter(torch.zeros_like(A))
        self.mix = nn.Conv1d(channels, channels, 1)
        self.bn = nn.BatchNorm1d(channels)

    def forward(self, m: torch.Tensor) -> torch.Tensor:
        """``m``: (B, C, V) time-pooled features -> (B, C) after graph mixing and joint pooling."""
        y = torch.einsum("bcv,vw->bcw", m, (self.A + self.offset).to(m.dtype))
        y = Fn.relu(self.bn(self.mix(y)) + m)
        return y.mean(dim=-1)


class _TemporalBranch(nn.Module):
    def __init__(self, channels: int, dilations=(1, 2, 4)):
        super().__init__()
        self.sharpness = nn.Parameter(torch.tensor(1.0))
        self.proj = nn.Conv1d(2 * channels, channels, 1)
        self.convs = nn.ModuleList(
            nn.Conv1d(channels, channels, 3, padding=d, dilation=d, groups=channels) for d in dilations
        )
        self.bn = nn.BatchNorm1d(channels)
        self.att = nn.Conv1d(channels, 1, 1)
        nn.init.zeros_(self.att.weight)
        nn.init.zeros_(self.att.bias)

    def motion_weights(self, f: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V) -> (N, T, V) softmax over joints of the standardised per-joint feature speed."""
        d = torch.zeros_like(f[:, 0])
        if f.shape[2] > 1:
            sp = (f[:, :, 1:] - f[:, :, :-1]).abs().mean(dim=1)  # (N, T-1, V)
            d = torch.cat([sp[:, :1], sp], dim=1) if sp.shape[1] > 0 else d
            d = 0.5 * (d + torch.cat([sp, sp[:, -1:]], dim=1))  # centred: mean of the speeds around frame t
        mu = d.mean(dim=-1, keepdim=True)
        sd = d.std(dim=-1, keepdim=True, unbiased=False) + 1e-5
        return torch.softmax(self.sharpness * (d - mu) / sd, dim=-1)

    def sequence(self, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, C, T, V) -> per-frame features h (N, C, T) and motion weights (N, T, V)."""
        w = self.motion_weights(f)
        p = torch.einsum("nctv,ntv->nct", f, w.to(f.dtype))
        vel = torch.zeros_like(p)
        if p.shape[-1] > 1:
            vel[..., 1:] = p[..., 1:] - p[..., :-1]
        h = self.proj(torch.cat([p, vel], dim=1))
        h = Fn.relu(self.bn(sum(c(h) for c in self.convs)) + p)
        return h, w

    def pool(self, h: torch.Tensor) -> torch.Tensor:
        a = torch.softmax(self.att(h), dim=-1)  # (N, 1, T); zero init = uniform average
        return (h * a).sum(dim=-1)


class FusionHead(nn.Module):
    """Classifier head with the optional spatio-temporal balanced fusion (``spec.mode``)."""

    def __init__(self, channels: int, num_classes: int, adjacency: np.ndarray, spec: FusionSpec | None = None):
        super().__init__()
        spec = spec or FusionSpec()
        if spec.mode not in FUSION_MODES:
            raise ValueError(f"unknown fusion mode {spec.mode!r}; choose one of {FUSION_MODES}")
        self.spec = spec
        self.channels = channels
        self.num_classes = num_classes
        self.drop = nn.Dropout(spec.dropout) if spec.dropout > 0 else nn.Identity()
        if spec.mode == "none":
            self.fc = nn.Linear(channels, num_classes)
            return
        self.spatial = _SpatialBranch(channels, adjacency)
        self.temporal = _TemporalBranch(channels)
        self.aux_s = nn.Linear(channels, num_classes)
        self.aux_t = nn.Linear(channels, num_classes)
        if spec.mode == "concat":
            self.fc = nn.Linear(2 * channels, num_classes)
        else:
            self.fc = nn.Linear(channels, num_classes)
        if spec.mode == "gate":
            n_out = 2 if spec.gate == "sample" else 2 * channels
            hidden = max(16, channels // 4)
            self.gate_mlp = nn.Sequential(nn.Linear(3 * channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, n_out))
            nn.init.zeros_(self.gate_mlp[-1].weight)
            nn.init.zeros_(self.gate_mlp[-1].bias)
        if spec.gap_residual and spec.mode in ("fixed", "gate"):
            self.gamma = nn.Parameter(torch.zeros(1))
        else:
            self.register_parameter("gamma", None)

    # ------------------------------------------------------------------ fusion core
    def _fuse(self, s: torch.Tensor, t: torch.Tensor, gap: torch.Tensor) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """s, t, gap: (B, C) -> z (B, C or 2C), gate (B, 2) or None."""
        mode = self.spec.mode
        if mode == "concat":
            return torch.cat([s, t], dim=-1), None
        if mode == "fixed":
            z = 0.5 * (s + t)
            g = torch.full((s.shape[0], 2), 0.5, device=s.device, dtype=s.dtype)
        else:
            logits = self.gate_mlp(torch.cat([s, t, (s - t).abs()], dim=-1)) / self.spec.tau
            if self.spec.gate == "sample":
                g_full = torch.softmax(logits, dim=-1)  # (B, 2)
                z = g_full[:, :1] * s + g_full[:, 1:] * t
                g = g_full
            else:
                g_full = torch.softmax(logits.view(-1, 2, self.channels), dim=1)  # (B, 2, C)
                z = g_full[:, 0] * s + g_full[:, 1] * t
                g = g_full.mean(dim=-1)
        if self.gamma is not None:
            z = z + self.gamma * gap
        return z, g

    # ------------------------------------------------------------------ clip level
    def forward(self, f: torch.Tensor) -> HeadOutput:
        """``f`` (N, C, T, V) -> clip logits (N, K)."""
        gap = f.mean(dim=(2, 3))
        if self.spec.mode == "none":
            return HeadOutput(self.fc(self.drop(gap)), gap)
        s = self.spatial(f.mean(dim=2))
        h, _ = self.temporal.sequence(f)
        t = self.temporal.pool(h)
        z, g = self._fuse(s, t, gap)
        return HeadOutput(self.fc(self.drop(z)), z, self.aux_s(s), self.aux_t(t), g)

    # ------------------------------------------------------------------ per time step
    def dense(self, f: torch.Tensor, window: Optional[int] = None) -> HeadOutput:
        """``f`` (N, C, T, V) -> per-step logits (N, K, T) and features (N, C', T).

        Plain head: the classifier applied to every time step's joint-mean (its time average equals
        the clip logits). Fusion: the spatial branch sees a centred moving average of ``window`` steps
        (``spec.dense_window`` by default) instead of the whole clip, the temporal branch keeps its
        per-frame output, and the gate is evaluated per step.
        """
        n, c, t, v = f.shape
        gap_t = f.mean(dim=3)  # (N, C, T)
        if self.spec.mode == "none":
            logits = torch.einsum("nct,kc->nkt", gap_t, self.fc.weight) + self.fc.bias[None, :, None]
            return HeadOutput(logits, gap_t)
        w = int(window or self.spec.dense_window)
        w = max(1, min(w, t))
        if w > 1:
            fm = f.permute(0, 3, 1, 2).reshape(n * v, c, t)  # (N*V, C, T)
            fm = Fn.avg_pool1d(fm, w, stride=1, padding=w // 2, count_include_pad=False)[..., :t]
            fm = fm.view(n, v, c, t)
        else:
            fm = f.permute(0, 3, 1, 2)
        m = fm.permute(0, 3, 2, 1).reshape(n * t, c, v)  # (N*T, C, V)
        s = self.spatial(m).view(n, t, c)
        h, _ = self.temporal.sequence(f)
        tt = h.permute(0, 2, 1)  # (N, T, C)
        z, g = self._fuse(s.reshape(n * t, c), tt.reshape(n * t, c), gap_t.permute(0, 2, 1).reshape(n * t, c))
        logits = self.fc(z).view(n, t, -1).permute(0, 2, 1)
        feats = z.view(n, t, -1).permute(0, 2, 1)
        gate = g.view(n, t, 2).permute(0, 2, 1) if g is not None else None
        aux_s = self.aux_s(s).permute(0, 2, 1)
        aux_t = self.aux_t(tt).permute(0, 2, 1)
        return HeadOutput(logits, feats, aux_s, aux_t, gate)

    # ------------------------------------------------------------------ training losses
    def losses(self, out: HeadOutput, target: torch.Tensor, label_smoothing: float = 0.0) -> dict[str, torch.Tensor]:
        """Main CE, auxiliary branch CE (weighted) and the gate-balance KL (weighted)."""
        parts = {"ce": Fn.cross_entropy(out.logits, target, label_smoothing=label_smoothing)}
        if out.aux_spatial is not None and self.spec.aux_weight > 0:
            aux = 0.5 * (
                Fn.cross_entropy(out.aux_spatial, target, label_smoothing=label_smoothing)
                + Fn.cross_entropy(out.aux_temporal, target, label_smoothing=label_smoothing)
            )
            parts["aux"] = self.spec.aux_weight * aux
        if out.gate is not None and self.spec.mode == "gate" and self.spec.balance_weight > 0:
            parts["balance"] = self.spec.balance_weight * gate_balance_kl(out.gate)
        return parts


def gate_balance_kl(gate: torch.Tensor) -> torch.Tensor:
    """``KL(mean_batch(g) || uniform)`` for gates of shape (N, 2) (0 when the mean gate is ½–½)."""
    g = gate.float().mean(dim=0).clamp_min(1e-8)
    k = g.shape[0]
    return (g * (g * k).log()).sum()


GATE_COLLAPSE_SPREAD = 0.02


def gate_spread(gate_per_class: dict[str, list[float]]) -> Optional[float]:
    """Range (max - min) over classes of the mean spatial gate weight; None without gates."""
    vals = [float(g[0]) for g in gate_per_class.values() if g]
    return (max(vals) - min(vals)) if len(vals) >= 2 else None


def gate_collapse_warning(gate_per_class: dict[str, list[float]]) -> Optional[str]:
    """A warning when the learned gate weighs the two streams the same way for every class.

    The balance penalty only keeps the *mean* gate near 1/2; it does not stop the gate MLP from
    collapsing to a constant (e.g. when all its hidden ReLU units die), which turns the balanced fusion
    into a fixed average. Seen in practice with one tiny-synth recipe variant (spread 0.0).
    """
    spread = gate_spread(gate_per_class)
    if spread is None or spread >= GATE_COLLAPSE_SPREAD:
        return None
    first = next(iter(gate_per_class.values()))
    return (
        f"the fusion gate has collapsed: every class gets about the same weighting "
        f"(spatial {float(first[0]):.2f} / temporal {float(first[1]):.2f}; spread over classes {spread:.3f} < "
        f"{GATE_COLLAPSE_SPREAD}), so the balanced fusion acts as a fixed average; try another seed or a lower "
        "learning rate"
    )
