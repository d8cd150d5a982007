"""Motion engine for the synthetic micro-gestures: the batch context, the motion base classes and the registry.

Each :class:`Motion` changes the pose controls of a batch of rows inside a time
window, in two stages: :meth:`Motion.body` (torso, head, shoulders; before the
resting hands are placed) and :meth:`Motion.hands`. Hand gestures
(:class:`HandGesture`) move a hand from its resting place to a contact point on the
body (head-anchored points follow the head), act there (scratch, rub, stroke, pull,
tap, touch) and return; timing follows a minimum-jerk envelope with optional
repetitions. :class:`BodyMotion` moves torso, head or shoulders while the hands rest.

The gestures themselves (one class per iMiGUE id) live in :mod:`mgreason.synth.gestures`;
each registers itself with :func:`register` where it is defined.
"""

from __future__ import annotations

from typing import Optional, TypeVar

import numpy as np

from mgreason.synth.body import SIDE, Body, Controls, Style, arm_joints, head_points, unit
from mgreason.synth.idle import smooth_noise, smoothstep
from mgreason.taxonomy import IMIGUE

__all__ = ["Ctx", "Motion", "HandGesture", "BodyMotion", "ACTION_FREQ", "contact_bias", "register", "REGISTRY"]



# ---------------------------------------------------------------------------
# context: one batch of gesture instances
# ---------------------------------------------------------------------------


class Ctx:
    """A batch of n gesture instances sharing one class, over a window of L frames."""

    def __init__(
        self,
        rng: np.random.Generator,
        body: Body,
        style: Style,
        ctl: Controls,
        fps: float,
        onset: np.ndarray,
        dur: np.ndarray,
        amplitude: float = 1.0,
    ):
        self.rng, self.body, self.style, self.ctl, self.fps = rng, body, style, ctl, fps
        self.n, self.L = ctl.shape
        self.t = np.arange(self.L) / fps
        self.onset = np.asarray(onset, dtype=float)
        self.dur = np.asarray(dur, dtype=float)
        self.tau = np.clip(self.t[None, :] - self.onset[:, None], 0.0, None)  # time since onset
        self.amplitude = amplitude
        self.p: dict[str, np.ndarray] = {}

    # ---- random helpers ---------------------------------------------------------------
    def u(self, lo: float, hi: float, *shape: int) -> np.ndarray:
        return self.rng.uniform(lo, hi, (self.n,) + shape)

    def pick(self, probs: dict[str, float]) -> np.ndarray:
        names = list(probs)
        p = np.array([probs[k] for k in names], dtype=float)
        return np.array(names, dtype=object)[self.rng.choice(len(names), self.n, p=p / p.sum())]

    def coin(self, p: float | np.ndarray) -> np.ndarray:
        return self.rng.random(self.n) < p

    @staticmethod
    def vec(x: np.ndarray | float, y: np.ndarray | float, z: np.ndarray | float) -> np.ndarray:
        x, y, z = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float), np.asarray(z, float))
        return np.stack([x, y, z], -1)

    def jitter_dir(self, d: np.ndarray, amount: float = 0.2) -> np.ndarray:
        return unit(d + self.rng.normal(0, amount, d.shape))

    # ---- timing ------------------------------------------------------------------------
    def envelope(
        self,
        rise: Optional[np.ndarray] = None,
        fall: Optional[np.ndarray] = None,
        reps_p: tuple[float, ...] = (1.0,),
        onset: Optional[np.ndarray] = None,
        dur: Optional[np.ndarray] = None,
    ) -> np.ndarray:
        """(n, L) in [0, 1]: approach, hold (with dips between repetitions), retract."""
        tempo = self.style.tempo
        onset = self.onset if onset is None else onset
        dur = self.dur if dur is None else dur
        rise = self.u(0.25, 0.65) / tempo if rise is None else rise
        fall = self.u(0.25, 0.65) / tempo if fall is None else fall
        tot = rise + fall
        k = np.minimum(1.0, 0.85 * dur / tot)
        rise, fall = rise * k, fall * k
        t = self.t[None, :]
        up = smoothstep((t - onset[:, None]) / rise[:, None])
        env = up * smoothstep(((onset + dur)[:, None] - t) / fall[:, None])
        if len(reps_p) > 1:
            reps = self.rng.choice(len(reps_p), self.n, p=np.asarray(reps_p) / sum(reps_p)) + 1
            depth = self.u(0.3, 0.8)
            width = self.u(0.1, 0.2) / tempo
            hold0, hold1 = onset + rise, onset + dur - fall
            dip = np.zeros((self.n, self.L))
            for j in range(1, int(reps.max())):
                b = hold0 + (hold1 - hold0) * j / np.maximum(reps, 1)
                on = reps > j
                bump = np.exp(-0.5 * ((t - b[:, None]) / width[:, None]) ** 2)
                dip = np.maximum(dip, np.where(on[:, None], bump, 0.0))
            env = env * (1 - depth[:, None] * dip)
            self.p["reps"] = reps
        return env

    def osc(self, freq: np.ndarray, phase: Optional[np.ndarray] = None) -> np.ndarray:
        phase = self.u(0, 2 * np.pi) if phase is None else phase
        return np.sin(2 * np.pi * freq[:, None] * self.tau + phase[:, None])

    # ---- body anchors ------------------------------------------------------------------------
    def head_point(self, local: np.ndarray) -> np.ndarray:
        """Torso-frame (n, L, 3) position of head-local points (head radii), following the head."""
        return head_points(self.body, self.ctl, local)

    def arm(self, side: np.ndarray) -> dict[str, np.ndarray]:
        """Current shoulder/elbow/wrist (n, L, 3) of the arm on ``side`` (per row)."""
        a0 = arm_joints(self.body, self.ctl, 0, tips=False)
        a1 = arm_joints(self.body, self.ctl, 1, tips=False)
        sel = (side == 1)[:, None, None]
        return {k: np.where(sel, a1[k], a0[k]) for k in a0}

    # ---- writing controls ------------------------------------------------------------------------
    def set_hand(self, side: np.ndarray, env: np.ndarray, rows: Optional[np.ndarray] = None, **tgt: np.ndarray) -> None:
        """Blend hand ``side`` (per row) from its current pose towards ``tgt`` by ``env``.

        Keys: p, d, n, k, curl, spread, thumb, pole, vis, occl. Values broadcast to
        (n, L, 3) for vectors and (n, L) for scalars.
        """
        rows = np.ones(self.n, dtype=bool) if rows is None else rows
        if not rows.any():
            return
        r = np.flatnonzero(rows)
        sd = np.asarray(side)[r]
        e = env[r]
        keymap = {"p": "hand_p", "d": "hand_d", "n": "hand_n", "k": "hand_k", "curl": "curl", "spread": "spread",
                  "thumb": "thumb", "pole": "pole", "vis": "hand_vis", "occl": "finger_occl"}  # fmt: skip
        for key, val in tgt.items():
            name = keymap[key]
            arr = self.ctl[name]
            cur = arr[r, :, sd]  # (m, L, ...)
            v = np.asarray(val, dtype=float)
            vec = arr.ndim == 4
            if v.ndim == 0 or (vec and v.ndim == 1):
                v = np.broadcast_to(v, cur.shape)
            else:
                v = v[r]
                if (vec and v.ndim == 2) or (not vec and v.ndim == 1):
                    v = v[:, None]
                v = np.broadcast_to(v, cur.shape)
            w = e[..., None] if vec else e
            new = cur + w * (v - cur)
            if name in ("hand_d", "hand_n", "pole"):
                new = unit(new)
            arr[r, :, sd] = new


# ---------------------------------------------------------------------------
# motion base classes
# ---------------------------------------------------------------------------


class Motion:
    raw_id: int = -1
    duration: tuple[float, float] = (1.0, 3.5)  # seconds, before the subject's tempo
    reps_p: tuple[float, ...] = (1.0,)

    @property
    def label(self) -> str:
        return IMIGUE.by_raw_id(self.raw_id).name

    @property
    def label_id(self) -> int:
        return IMIGUE.by_raw_id(self.raw_id).label_id

    def sample_duration(self, rng: np.random.Generator, style: Style) -> np.ndarray:
        lo, hi = self.duration
        d = np.exp(rng.uniform(np.log(lo), np.log(hi), len(style)))
        return d / np.sqrt(style.tempo)

    def sample(self, ctx: Ctx) -> None:
        ctx.p["env"] = ctx.envelope(reps_p=self.reps_p)
        ctx.p["side"] = np.where(ctx.coin(ctx.style.p_right), 0, 1)

    def body(self, ctx: Ctx) -> None:
        pass

    def hands(self, ctx: Ctx) -> None:
        pass


ACTION_FREQ = {"scratch": None, "rub": (1.2, 3.2), "stroke": (0.5, 1.4), "pull": (1.0, 2.5), "tap": (1.5, 3.0),
               "touch": (0.2, 0.6), "nibble": (3.0, 6.0)}  # fmt: skip


class HandGesture(Motion):
    """One hand (sometimes both) to a contact point, an action there, and back."""

    actions: dict[str, float] = {"touch": 1.0}
    amp: tuple[float, float] = (0.004, 0.015)  # metres, action amplitude
    both_p: float = 0.0
    head_pitch: tuple[float, float] = (0.0, 0.0)  # head response (down > 0), rad
    head_roll: tuple[float, float] = (0.0, 0.0)  # tilt towards the hand, rad
    partial_p: float = 0.08

    def sample(self, ctx: Ctx) -> None:
        super().sample(ctx)
        ctx.p["both"] = ctx.coin(self.both_p)
        ctx.p["action"] = ctx.pick(self.actions)
        ctx.p["amp"] = ctx.u(*self.amp) * ctx.style.amplitude * ctx.amplitude
        ctx.p["reach"] = np.where(ctx.coin(self.partial_p), ctx.u(0.55, 0.85), 1.0)

    def body(self, ctx: Ctx) -> None:
        env = ctx.p["env"]
        s = SIDE[ctx.p["side"]]
        pitch = ctx.u(*self.head_pitch)
        roll = ctx.u(*self.head_roll) * s * np.where(ctx.p["both"], 0.3, 1.0)
        ctx.ctl["head_rot"][..., 0] += env * pitch[:, None]
        ctx.ctl["head_rot"][..., 2] += env * roll[:, None]

    def target(self, ctx: Ctx, side: np.ndarray, s: np.ndarray, primary: bool) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def hands(self, ctx: Ctx) -> None:
        env = ctx.p["env"] * ctx.p["reach"][:, None]
        side = ctx.p["side"]
        for primary in (True, False):
            sd = side if primary else 1 - side
            rows = None if primary else ctx.p["both"]
            if rows is not None and not rows.any():
                continue
            tgt = self.target(ctx, sd, SIDE[sd], primary)
            tgt.setdefault("vis", 1.0)  # a hand that comes up from the lap becomes visible
            tgt.setdefault("occl", 0.0)
            tgt = self.apply_action(ctx, tgt, primary)
            e = env
            if not primary:  # the second hand lags a little and may do less
                lag = ctx.u(0.0, 0.25)
                e = np.clip(ctx.envelope(onset=ctx.onset + lag, dur=np.maximum(ctx.dur - lag, 0.3)), 0, 1)
                e = e * ctx.u(0.75, 1.0)[:, None]
            ctx.set_hand(sd, e, rows, **tgt)

    def apply_action(self, ctx: Ctx, tgt: dict[str, np.ndarray], primary: bool) -> dict[str, np.ndarray]:
        p = np.broadcast_to(tgt["p"], (ctx.n, ctx.L, 3)).copy() if np.ndim(tgt["p"]) == 3 else (
            np.broadcast_to(np.asarray(tgt["p"])[:, None, :], (ctx.n, ctx.L, 3)).copy()
        )
        d = np.asarray(tgt["d"], float)
        nrm = np.asarray(tgt["n"], float)
        d2 = d if d.ndim == 2 else np.broadcast_to(d, (ctx.n, 3))
        n2 = nrm if nrm.ndim == 2 else np.broadcast_to(nrm, (ctx.n, 3))
        t1 = np.asarray(tgt.pop("t1", None) if "t1" in tgt else unit(np.cross(d2, n2)))
        t2 = np.asarray(tgt.pop("t2", None) if "t2" in tgt else d2)
        t1 = np.broadcast_to(t1, (ctx.n, 3))[:, None, :]
        t2 = np.broadcast_to(t2, (ctx.n, 3))[:, None, :]
        act = ctx.p["action"]
        amp = ctx.p["amp"] * (1.0 if primary else ctx.u(0.5, 1.0))
        a = (ctx.p["env"] ** 2)[..., None] * amp[:, None, None]
        curl = np.broadcast_to(np.asarray(tgt.get("curl", 0.4), float), (ctx.n,)).copy()
        curl_t = np.repeat(curl[:, None], ctx.L, 1)
        for name in sorted(set(act)):
            m = act == name
            if name == "scratch":
                f = ctx.style.scratch_hz * ctx.u(0.8, 1.25)
            else:
                f = ctx.u(*ACTION_FREQ[name]) * ctx.style.tempo
            w = ctx.osc(f)
            if name == "scratch":
                delta = (w[..., None] * t1 * 0.6 + ctx.osc(f)[..., None] * t2 * 0.4) * a
                curl_t = np.where(m[:, None], curl_t + 0.22 * w * ctx.p["env"], curl_t)
            elif name == "rub":
                wc = np.cos(np.arcsin(np.clip(w, -1, 1)))
                delta = (w[..., None] * t1 + wc[..., None] * t2 * ctx.u(0.3, 1.0)[:, None, None]) * a * 1.3
            elif name == "stroke":
                delta = (0.5 - 0.5 * np.cos(2 * np.pi * f[:, None] * ctx.tau))[..., None] * t1 * a * 4.0
            elif name == "pull":
                delta = (0.5 - 0.5 * np.cos(2 * np.pi * f[:, None] * ctx.tau))[..., None] * t2 * a * -2.0
            elif name == "tap":
                nn = np.broadcast_to(n2, (ctx.n, 3))[:, None, :]
                delta = (0.5 - 0.5 * np.cos(2 * np.pi * f[:, None] * ctx.tau))[..., None] * -nn * a * 1.5
            elif name == "nibble":
                delta = w[..., None] * t2 * a * 0.5
                curl_t = np.where(m[:, None], curl_t + 0.1 * w * ctx.p["env"], curl_t)
            else:  # touch: slow drift
                delta = smooth_noise(ctx.rng, (ctx.n, ctx.L, 3), 0.3 * ctx.fps) * a * 0.35
            p = np.where(m[:, None, None], p + delta, p)
        tgt = dict(tgt)
        tgt["p"] = p
        tgt["curl"] = np.clip(curl_t, 0, 1)
        return tgt


def contact_bias(ctx: Ctx, s: np.ndarray, scale: float = 0.5) -> np.ndarray:
    """Personal contact-point bias of the subject (head units), mirrored for the left hand."""
    b = ctx.style.contact_bias * scale
    return b * np.stack([s, np.ones_like(s), np.ones_like(s)], -1)


class BodyMotion(Motion):
    """Torso, head or shoulder movement; the hands stay where they rest."""

    def sample(self, ctx: Ctx) -> None:
        super().sample(ctx)
        ctx.p["amp"] = ctx.style.amplitude * ctx.amplitude * ctx.u(0.7, 1.3)


# ---------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------

REGISTRY: dict[int, Motion] = {}
"""iMiGUE raw class id -> motion instance, filled by :func:`register` when the gesture modules are imported."""

_M = TypeVar("_M", bound=type[Motion])


def register(cls: _M) -> _M:
    """Class decorator: add one instance of a gesture class to :data:`REGISTRY` under its ``raw_id``."""
    raw = cls.raw_id
    IMIGUE.by_raw_id(raw)  # an id outside the taxonomy fails here, at import time
    if raw in REGISTRY:
        other = type(REGISTRY[raw]).__name__
        raise ValueError(f"iMiGUE class {raw} has two synthetic motions: {other} and {cls.__name__}")
    REGISTRY[raw] = cls()
    return cls
