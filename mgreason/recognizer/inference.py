"""CPU inference with a trained checkpoint: clip scores and per-frame scores/features.

::

    from mgreason.recognizer import Recognizer
    rec = Recognizer.load()                       # bundled tiny-synth checkpoint
    clip = rec.classify(seq)                      # ClipScores: probs (K,), label, top(k)
    dense = rec.frame_scores(long_seq)            # FrameScores: probs (T, K), features (T, C), times (T,)

Any :class:`~mgreason.skeleton.sequence.SkeletonSequence` works: its joints are mapped to the
checkpoint's layout by name, it is resampled to the checkpoint's frame rate, normalised exactly as in
training, and the outputs of :meth:`Recognizer.frame_scores` are given at the *input* sequence's frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import torch

from mgreason.errors import DataError
from mgreason.recognizer.checkpoint import load_checkpoint
from mgreason.recognizer.model import RecognizerModel
from mgreason.recognizer.preprocessing import build_streams, prepare_sequence, uniform_indices
from mgreason.skeleton.sequence import SkeletonSequence

__all__ = ["Recognizer", "ClipScores", "FrameScores", "BUNDLED_CHECKPOINT", "bundled_checkpoint_path"]

BUNDLED_CHECKPOINT = "tiny-synth"


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
    features: np.ndarray  # (T, C) fused embedding per frame
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

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: Optional[str | Path] = None, device: str | torch.device = "cpu") -> "Recognizer":
        """Load a checkpoint directory (default: the bundled ``tiny-synth``)."""
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

    @property
    def segmentation(self) -> Any:
        """The checkpoint's segmentation parameters (``config.json`` -> ``segmentation.params``, chosen
        on validation recordings by ``mgreason tune-segmentation``), else the defaults."""
        from mgreason.transcribe.tuning import checkpoint_segmentation

        return checkpoint_segmentation(self.config)

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
    @torch.no_grad()
    def frame_scores(
        self,
        seq: SkeletonSequence,
        *,
        chunk_s: float = 120.0,
        overlap_s: float = 8.0,
        window: Optional[int] = None,
        fps: Optional[float] = None,
    ) -> FrameScores:
        """Per-frame class logits/probabilities and features over a sequence of any length.

        The sequence is prepared at ``fps`` (default: the checkpoint's ``fps``, 25 for tiny-synth).
        ``fps=rec.dense_fps`` instead runs at the rate at which training *saw* gestures (every clip is
        squeezed into ``clip_len`` frames: ``fps * clip_len / median clip length``, 15.9 for
        tiny-synth); on synthetic sessions that raised in-gesture frame accuracy (0.45 -> 0.53) but
        lowered background accuracy, so it is an option, not the default. The network runs fully
        convolutionally, in chunks of ``chunk_s`` seconds with ``overlap_s`` of context on each side
        (discarded), so memory stays bounded and the result does not depend on where chunks start.
        Outputs are interpolated back to the input sequence's own frames.
        """
        rate = float(fps or self.fps)
        p = self.prepare(seq, rate)
        x = self._tensor(p.coords, p.confidence)  # (C, T, V)
        T = x.shape[1]
        st = self.model.temporal_stride  # chunk edges on the stride grid: same result as one pass
        chunk = max(4 * st, int(round(chunk_s * rate)) // st * st)
        ov = max(0, int(round(overlap_s * rate)) // st * st)
        logits, feats, gates = [], [], []
        start = 0
        while start < T:
            end = min(T, start + chunk)
            a, b = max(0, start - ov), min(T, end + ov)
            res = self.model.dense(x[None, :, a:b].to(self.device), window=window)
            sl = slice(start - a, start - a + (end - start))
            logits.append(res.logits[0, :, sl].float().cpu())
            feats.append(res.features[0, :, sl].float().cpu())
            if res.gate is not None:
                gates.append(res.gate[0, :, sl].float().cpu())
            start = end
        lg = torch.cat(logits, 1).T.numpy()  # (T_model, K)
        ft = torch.cat(feats, 1).T.numpy()
        gt = torch.cat(gates, 1).T.numpy() if gates else None
        # model frames -> input frames
        t_model = np.arange(T) / rate
        n_in = seq.num_frames
        t_in = np.arange(n_in) / seq.fps
        if T != n_in or abs(seq.fps - rate) > 1e-6:
            lg, ft = interp_rows(t_model, lg, t_in), interp_rows(t_model, ft, t_in)
            gt = interp_rows(t_model, gt, t_in) if gt is not None else None
        probs = softmax_rows(lg)
        times = float(seq.meta.get("start_s", 0.0)) + t_in
        return FrameScores(times, lg, probs, ft, self.labels, float(seq.fps), gt)


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
