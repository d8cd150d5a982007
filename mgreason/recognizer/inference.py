"""CPU inference with a trained checkpoint: clip scores and per-frame scores/features.

::

    from mgreason.recognizer import Recognizer
    rec = Recognizer.load()                       # the bundled default checkpoint (tiny-real298)
    clip = rec.classify(seq)                      # ClipScores: probs (K,), label, top(k)
    dense = rec.frame_scores(long_seq)            # FrameScores: probs (T, K), features (T, C), gate, times (T,)

Any :class:`~mgreason.skeleton.sequence.SkeletonSequence` works: its joints are mapped to the
checkpoint's layout by name, it is resampled to the checkpoint's frame rate, normalised exactly as in
training, and the outputs of :meth:`Recognizer.frame_scores` are given at the *input* sequence's frames.
:meth:`Recognizer.frame_scores` is the one per-frame scorer of the package (chunked, with the overlap
taken from the measured receptive field); :mod:`mgreason.transcribe` builds transcripts on top of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from mgreason.errors import DataError
from mgreason.recognizer.checkpoint import load_checkpoint
from mgreason.recognizer.model import RecognizerModel
from mgreason.recognizer.preprocessing import build_streams, prepare_sequence, uniform_indices
from mgreason.skeleton.layouts import get_layout
from mgreason.skeleton.sequence import SkeletonSequence

__all__ = [
    "Recognizer",
    "ClipScores",
    "FrameScores",
    "BUNDLED_CHECKPOINT",
    "bundled_checkpoint_path",
    "DEFAULT_CHUNK_S",
    "Progress",
    "interp_rows",
    "softmax_rows",
]

BUNDLED_CHECKPOINT = "tiny-real298"  # tiny-synth adapted to one real recording (see its README); "tiny-synth" ships too
DEFAULT_CHUNK_S = 60.0  # ~1500 frames at 25 fps: the fastest chunk size per frame on CPU (caches), measured

Progress = Callable[[int, int], None]  # (frames done, frames in all) at the network's frame rate


def bundled_checkpoint_path(name: str = BUNDLED_CHECKPOINT) -> Path:
    """Directory of a checkpoint shipped inside the package (``mgreason/recognizer/checkpoints/<name>``)."""
    p = Path(__file__).resolve().parent / "checkpoints" / name
    if not (p / "config.json").is_file():
        raise DataError(f"bundled checkpoint {name!r} is not installed", file=p)
    return p


@dataclass
class ClipScores:
    probs: np.ndarray  # (K,)
    labels: list[str]
    gate: Optional[np.ndarray] = None  # (2,) spatial / temporal weight, when the model has the gate

    @property
    def label_id(self) -> int:
        return int(np.argmax(self.probs))

    @property
    def label(self) -> str:
        return self.labels[self.label_id]

    @property
    def confidence(self) -> float:
        return float(self.probs[self.label_id])

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        idx = np.argsort(-self.probs)[:k]
        return [(self.labels[i], float(self.probs[i])) for i in idx]


@dataclass
class FrameScores:
    times: np.ndarray  # (T,) seconds of the input sequence's frames
    logits: np.ndarray  # (T, K)
    probs: np.ndarray  # (T, K) softmax over classes per frame
    features: np.ndarray  # (T, C) fused embedding per frame; (T, 0) when not requested
    labels: list[str]
    fps: float  # the input sequence's frame rate
    gate: Optional[np.ndarray] = None  # (T, 2)

    @property
    def background_index(self) -> Optional[int]:
        return self.labels.index("background") if "background" in self.labels else None


class Recognizer:
    """A loaded checkpoint plus its preprocessing."""

    def __init__(self, model: RecognizerModel, config: dict[str, Any], device: str | torch.device = "cpu"):
        self.model = model.eval()
        self.config = config
        self.device = torch.device(device)
        pre = config["preprocessing"]
        self.labels: list[str] = list(config["labels"])
        self.layout: str = config.get("layout") or pre.get("layout") or model.layout
        self.fps: float = float(pre["fps"])
        self.clip_len: int = int(pre["clip_len"])
        self.streams: list[str] = list(pre["streams"])
        self.use_confidence: bool = bool(pre.get("use_confidence", True))
        self.coord_channels: int = int(pre.get("coord_channels", 2))
        self.min_confidence: float = float(pre.get("min_confidence", 0.0))
        # frame rate at which dense scoring runs: the speed at which training clips were seen
        self.dense_fps: float = float(pre.get("dense_fps") or self.fps)
        self.path: Optional[Path] = None  # the checkpoint directory, when loaded from one
        self._overlap_frames: Optional[int] = None

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: Optional[str | Path] = None, device: str | torch.device = "cpu") -> "Recognizer":
        """Load a checkpoint directory (default: the bundled ``tiny-real298``)."""
        p = Path(path) if path is not None else bundled_checkpoint_path()
        model, cfg = load_checkpoint(p, device)
        rec = cls(model, cfg, device)
        rec.path = p
        return rec

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    @property
    def background_index(self) -> Optional[int]:
        return self.labels.index("background") if "background" in self.labels else None

    # ------------------------------------------------------------------ input
    def prepare(self, seq: SkeletonSequence, fps: Optional[float] = None) -> SkeletonSequence:
        """Map, resample (to ``fps``, default the checkpoint's), normalise and fill as in training."""
        s = prepare_sequence(seq, self.layout, fps or self.fps, self.min_confidence)
        if s.num_channels != self.coord_channels:
            if s.num_channels == 3 and self.coord_channels == 2:
                s = s.replace(coords=s.coords[..., :2])
            else:
                raise DataError(
                    f"the checkpoint expects {self.coord_channels}D coordinates, the sequence has {s.num_channels}",
                    field="coords",
                )
        return s

    def _tensor(self, coords: np.ndarray, conf: np.ndarray) -> torch.Tensor:
        x = build_streams(coords, conf, self.layout, self.streams, self.use_confidence)
        return torch.from_numpy(x)

    # ------------------------------------------------------------------ clips
    @torch.no_grad()
    def classify(self, seqs: SkeletonSequence | Sequence[SkeletonSequence], batch_size: int = 64) -> ClipScores | list[ClipScores]:
        """Class probabilities of one clip (or a list of clips), as in training's test-time sampling."""
        single = isinstance(seqs, SkeletonSequence)
        items = [seqs] if single else list(seqs)
        out: list[ClipScores] = []
        for i in range(0, len(items), batch_size):
            xs = []
            for s in items[i : i + batch_size]:
                p = self.prepare(s)
                idx = uniform_indices(p.num_frames, self.clip_len)
                xs.append(self._tensor(p.coords[idx], p.confidence[idx]))
            res = self.model(torch.stack(xs).to(self.device))
            probs = torch.softmax(res.logits.float(), 1).cpu().numpy()
            gates = res.gate.float().cpu().numpy() if res.gate is not None else [None] * len(xs)
            out += [ClipScores(p, self.labels, g) for p, g in zip(probs, gates)]
        return out[0] if single else out

    # ------------------------------------------------------------------ dense
    def scoring_rate(self, fps: Optional[float | str] = None) -> float:
        """The frame rate the network runs at for dense scoring: the checkpoint's ``fps`` (None /
        ``"model"``), the rate at which training saw gestures (``"dense"``: :attr:`dense_fps`), or a number."""
        if fps is None or fps == "model":
            return float(self.fps)
        if fps == "dense":
            return float(self.dense_fps)
        try:
            rate = float(fps)
        except (TypeError, ValueError):
            raise DataError(f"expected 'model', 'dense' or a frame rate, got {fps!r}", field="--model-fps") from None
        if not (math.isfinite(rate) and rate > 0):
            raise DataError(f"the scoring frame rate must be positive, got {fps!r}", field="--model-fps")
        return rate

    def model_input(
        self, seq: SkeletonSequence, fps: Optional[float | str] = None
    ) -> tuple[SkeletonSequence, torch.Tensor]:
        """The prepared sequence (at :meth:`scoring_rate`) and the network's input ``(C, T, V)`` for all of it."""
        p = self.prepare(seq, self.scoring_rate(fps))
        return p, self._tensor(p.coords, p.confidence)

    def receptive_radius(self, length: int = 1024, seed: int = 0) -> int:
        """Frames (at the network's rate) on each side of an output frame that can influence it.

        Measured, not derived: the gradient of one central output frame's logits with respect to a
        random input, which is non-zero exactly inside the receptive field.
        """
        g = torch.Generator().manual_seed(seed)
        C, V = self.model.in_channels, get_layout(self.layout).num_joints
        x = torch.randn(1, C, length, V, generator=g, requires_grad=True)
        c = length // 2
        with torch.enable_grad():
            out = self.model.dense(x)
            (grad,) = torch.autograd.grad(out.logits[0, :, c].sum(), x)
        nz = torch.nonzero(grad.abs().sum(dim=(0, 1, 3)) > 0).flatten()
        if nz.numel() == 0:
            return 0
        return int(max(c - int(nz.min()), int(nz.max()) - c))

    def overlap_frames(self) -> int:
        """Context frames (network rate) carried on each side of a chunk by default: the measured
        :meth:`receptive_radius` plus two strides, rounded up to the stride grid, and at least one
        second. Measured once per loaded checkpoint."""
        if self._overlap_frames is None:
            st = int(self.model.temporal_stride)
            r = self.receptive_radius() + 2 * st
            self._overlap_frames = max(math.ceil(r / st) * st, math.ceil(self.fps / st) * st)
        return self._overlap_frames

    @torch.no_grad()
    def frame_scores(
        self,
        seq: SkeletonSequence,
        *,
        chunk_s: float = DEFAULT_CHUNK_S,
        overlap_s: Optional[float] = None,
        fps: Optional[float | str] = None,
        features: bool = True,
        window: Optional[int] = None,
        progress: Optional[Progress] = None,
    ) -> FrameScores:
        """Per-frame logits / probabilities, features and fusion gate over a sequence of any length,
        at the *input* sequence's frames.

        The sequence is prepared once (joints mapped to the checkpoint's layout, resampled to
        :meth:`scoring_rate` ``(fps)``, normalised with statistics of the whole recording, gaps
        filled); ``fps="dense"`` runs at the rate at which training *saw* gestures (every clip is
        squeezed into ``clip_len`` frames: ``fps * clip_len / median clip length``, 15.9 for
        tiny-synth; on synthetic sessions that raised in-gesture frame accuracy but lowered background
        accuracy, so it is an option, not the default). The network - convolutional in time - runs in
        chunks of ``chunk_s`` seconds, each with ``overlap_s`` of extra context on both sides that is
        computed and discarded. ``overlap_s=None`` uses :meth:`overlap_frames` (the measured receptive
        field plus a margin), which makes the result equal one pass over the whole recording; chunking
        only bounds memory. Chunk edges sit on the network's temporal-stride grid, so strided layers
        see the same frames as in one pass. Outputs are interpolated back to the input's frames.

        ``features=False`` leaves ``features`` empty ``(T, 0)`` (less memory on long recordings);
        ``gate`` is ``(T, 2)`` when the model has the fusion gate. ``progress(done, total)`` is called
        after every chunk, in frames at the network's rate.
        """
        if not (chunk_s > 0 and (overlap_s is None or overlap_s >= 0)):
            raise DataError(f"need chunk_s > 0 and overlap_s >= 0, got {chunk_s}, {overlap_s}", field="chunk")
        rate = self.scoring_rate(fps)
        _, x = self.model_input(seq, rate)
        T = x.shape[1]
        st = int(self.model.temporal_stride)
        chunk = max(4 * st, int(round(chunk_s * rate)) // st * st)
        if T <= chunk:  # one pass over the whole recording: no context to carry, nothing to measure
            ov = 0
        else:
            ov = self.overlap_frames() if overlap_s is None else math.ceil(overlap_s * rate / st) * st
        logits, feats, gates = [], [], []
        start = 0
        while start < T:
            end = min(T, start + chunk)
            a, b = max(0, start - ov), min(T, end + ov)
            res = self.model.dense(x[None, :, a:b].to(self.device), window=window)
            sl = slice(start - a, end - a)
            logits.append(res.logits[0, :, sl].float().cpu())
            if features:
                feats.append(res.features[0, :, sl].float().cpu())
            if res.gate is not None:
                gates.append(res.gate[0, :, sl].float().cpu())
            start = end
            if progress is not None:
                progress(end, T)
        lg = torch.cat(logits, 1).T.contiguous().numpy()  # (T_model, K)
        ft = torch.cat(feats, 1).T.contiguous().numpy() if feats else None
        gt = torch.cat(gates, 1).T.contiguous().numpy() if gates else None
        # network frames -> input frames
        n_in = seq.num_frames
        t_in = np.arange(n_in) / seq.fps
        if T != n_in or abs(seq.fps - rate) > 1e-6:
            t_model = np.arange(T) / rate
            lg = interp_rows(t_model, lg, t_in)
            ft = interp_rows(t_model, ft, t_in) if ft is not None else None
            gt = interp_rows(t_model, gt, t_in) if gt is not None else None
        if ft is None:
            ft = np.zeros((n_in, 0), dtype=np.float32)
        times = float(seq.meta.get("start_s", 0.0)) + t_in
        return FrameScores(times, lg, softmax_rows(lg), ft, list(self.labels), float(seq.fps), gt)


def interp_rows(t_src: np.ndarray, y: np.ndarray, t_dst: np.ndarray) -> np.ndarray:
    """Each column of ``y`` (sampled at times ``t_src``) linearly interpolated at ``t_dst`` (float32)."""
    if len(t_src) == 1:
        return np.repeat(y, len(t_dst), 0).astype(np.float32)
    out = np.empty((len(t_dst), y.shape[1]), dtype=np.float32)
    for j in range(y.shape[1]):
        out[:, j] = np.interp(t_dst, t_src, y[:, j])
    return out


def softmax_rows(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax (float32), numerically stable."""
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
