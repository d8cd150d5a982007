"""ST-GCN++-style graph-convolution backbone (the PYSKL design, re-implemented).

Each block is a spatial graph conv over a fixed 3-subset adjacency plus a learnable offset
(initialised at ~0), followed by a multi-branch temporal conv (dilations 1-4, a max-pool branch and a
1x1 branch), with residual connections. Every temporal op is a padded convolution, so the backbone is
*fully convolutional in time*: it accepts any number of frames and returns ``ceil(T / stride)`` time
steps (stride 4 for both presets).

Input ``(N, C, T, V)`` or ``(N, C, T, V, M)`` (persons folded into the batch); output
``(N, C_out, T', V)`` (``(N*M, ...)`` for M > 1; the model averages persons).

Presets (counted on ``imigue22`` with 3 input channels):

* ``tiny``: 24 base channels, 6 blocks, channels 24-24-48-48-96-96, 4 temporal branches, ≈ 0.13 M params.
* ``small``: 32 base channels, 8 blocks, channels 32x3-64x3-128x2, ≈ 0.26 M params.
* ``base``: 64 base channels, 10 blocks, channels 64x4-128x3-256x3 (PYSKL ST-GCN++), ≈ 1.4 M params.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

__all__ = ["BackboneSpec", "PRESETS", "STGCNBackbone", "UnitGCN", "MSTCN", "STGCNBlock"]


@dataclass(frozen=True)
class BackboneSpec:
    base_channels: int = 64
    num_blocks: int = 10
    inflate_blocks: tuple[int, ...] = (5, 8)  # 1-based blocks that double the channels
    down_blocks: tuple[int, ...] = (5, 8)  # 1-based blocks with temporal stride 2
    dropout: float = 0.0  # dropout inside the temporal conv
    adaptive: str = "offset"  # "offset" (A + learnable PA, PA≈0 at init) | "fixed" | "init" (A itself learnable)
    tcn_branches: tuple = field(default_factory=lambda: ((3, 1), (3, 2), (3, 3), (3, 4), ("max", 3), "1x1"))

    def channels(self) -> list[int]:
        out, c = [], self.base_channels
        for i in range(1, self.num_blocks + 1):
            if i in self.inflate_blocks:
                c *= 2
            out.append(c)
        return out

    @property
    def out_channels(self) -> int:
        return self.channels()[-1]

    @property
    def temporal_stride(self) -> int:
        return 2 ** sum(1 for b in self.down_blocks if 1 <= b <= self.num_blocks)


PRESETS: dict[str, BackboneSpec] = {
    # tiny: 4 temporal branches instead of 6 (fewer small ops: faster on CPU), same dilation span
    "tiny": BackboneSpec(
        base_channels=24, num_blocks=6, inflate_blocks=(3, 5), down_blocks=(3, 5),
        tcn_branches=((3, 1), (3, 2), (3, 4), "1x1"),
    ),
    "small": BackboneSpec(base_channels=32, num_blocks=8, inflate_blocks=(4, 7), down_blocks=(4, 7)),
    "base": BackboneSpec(base_channels=64, num_blocks=10, inflate_blocks=(5, 8), down_blocks=(5, 8)),
}


class UnitGCN(nn.Module):
    """Spatial graph conv: 1x1 conv to K*C_out channels, then aggregation with (A + PA) per subset."""

    def __init__(self, in_channels: int, out_channels: int, A: torch.Tensor, adaptive: str = "offset", residual: bool = True):
        super().__init__()
        self.num_subsets = A.shape[0]
        self.out_channels = out_channels
        self.adaptive = adaptive
        if adaptive == "init":
            self.A = nn.Parameter(A.clone())
        else:
            self.register_buffer("A", A.clone())
        if adaptive == "offset":
            self.PA = nn.Parameter(torch.empty_like(A).uniform_(-1e-6, 1e-6))
        else:
            self.register_parameter("PA", None)
        self.conv = nn.Conv2d(in_channels, out_channels * self.num_subsets, 1)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU(inplace=True)
        if not residual:
            self.down = None
        elif in_channels != out_channels:
            self.down = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
        else:
            self.down = nn.Identity()

    def adjacency(self) -> torch.Tensor:
        return self.A + self.PA if self.PA is not None else self.A

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, v = x.shape
        res = self.down(x) if self.down is not None else 0
        y = self.conv(x).view(n, self.num_subsets, self.out_channels, t, v)
        A = self.adjacency().to(y.dtype)
        y = torch.einsum("nkctv,kvw->nctw", y, A)
        return self.act(self.bn(y) + res)


class _TemporalConv(nn.Module):
    """A (k x 1) conv over time with 'same' padding (for stride 1), optional dilation and stride."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1, dilation: int = 1, bn: bool = True):
        super().__init__()
        pad = (kernel + (kernel - 1) * (dilation - 1) - 1) // 2
        self.conv = nn.Conv2d(in_channels, out_channels, (kernel, 1), (stride, 1), (pad, 0), (dilation, 1))
        self.bn = nn.BatchNorm2d(out_channels) if bn else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class MSTCN(nn.Module):
    """Multi-branch temporal conv: (3,d) dilated branches, a max-pool branch and a 1x1 branch."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, dropout: float = 0.0, branches=None):
        super().__init__()
        branches = list(branches or ((3, 1), (3, 2), (3, 3), (3, 4), ("max", 3), "1x1"))
        nb = len(branches)
        mid = out_channels // nb
        first = out_channels - mid * (nb - 1)
        self.branches = nn.ModuleList()
        for i, cfg in enumerate(branches):
            c = first if i == 0 else mid
            if cfg == "1x1":
                self.branches.append(nn.Conv2d(in_channels, c, 1, stride=(stride, 1)))
                continue
            pre = [nn.Conv2d(in_channels, c, 1), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            if cfg[0] == "max":
                k = int(cfg[1])
                pre.append(nn.MaxPool2d((k, 1), stride=(stride, 1), padding=(k // 2, 0)))
            else:
                pre.append(_TemporalConv(c, c, int(cfg[0]), stride=stride, dilation=int(cfg[1]), bn=False))
            self.branches.append(nn.Sequential(*pre))
        self.transform = nn.Sequential(
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True), nn.Conv2d(out_channels, out_channels, 1)
        )
        self.bn = nn.BatchNorm2d(out_channels)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat([b(x) for b in self.branches], dim=1)
        return self.drop(self.bn(self.transform(y)))


class STGCNBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, A: torch.Tensor, stride: int = 1, residual: bool = True,
                 spec: BackboneSpec | None = None):
        super().__init__()
        spec = spec or BackboneSpec()
        self.gcn = UnitGCN(in_channels, out_channels, A, adaptive=spec.adaptive)
        self.tcn = MSTCN(out_channels, out_channels, stride=stride, dropout=spec.dropout, branches=spec.tcn_branches)
        if not residual:
            self.res = None
        elif in_channels == out_channels and stride == 1:
            self.res = nn.Identity()
        else:
            self.res = _TemporalConv(in_channels, out_channels, 1, stride=stride)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = self.res(x) if self.res is not None else 0
        return self.act(self.tcn(self.gcn(x)) + res)


class STGCNBackbone(nn.Module):
    """Data BN over (V, C), then ``spec.num_blocks`` ST-GCN++ blocks."""

    def __init__(self, in_channels: int, A: np.ndarray | torch.Tensor, spec: BackboneSpec | str = "tiny"):
        super().__init__()
        if isinstance(spec, str):
            spec = PRESETS[spec]
        self.spec = spec
        A = torch.as_tensor(np.asarray(A), dtype=torch.float32)
        if A.dim() == 2:
            A = A[None]
        self.num_joints = A.shape[-1]
        self.in_channels = in_channels
        self.data_bn = nn.BatchNorm1d(in_channels * self.num_joints)
        blocks = []
        c_in = in_channels
        for i, c_out in enumerate(spec.channels(), start=1):
            stride = 2 if i in spec.down_blocks else 1
            blocks.append(STGCNBlock(c_in, c_out, A, stride=stride, residual=i > 1, spec=spec))
            c_in = c_out
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = c_in

    @property
    def temporal_stride(self) -> int:
        return self.spec.temporal_stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 5:  # (N, C, T, V, M) -> (N*M, C, T, V)
            n, c, t, v, m = x.shape
            x = x.permute(0, 4, 1, 2, 3).reshape(n * m, c, t, v)
        n, c, t, v = x.shape
        if v != self.num_joints:
            raise ValueError(f"backbone built for {self.num_joints} joints, got {v}")
        x = self.data_bn(x.permute(0, 3, 1, 2).reshape(n, v * c, t)).view(n, v, c, t).permute(0, 2, 3, 1).contiguous()
        for blk in self.blocks:
            x = blk(x)
        return x
