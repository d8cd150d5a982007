"""Parametric micro-gestures on the seated upper body, one class per iMiGUE id.

Each :class:`Motion` changes the pose controls of a batch of rows inside a time
window, in two stages: :meth:`Motion.body` (torso, head, shoulders; before the
resting hands are placed) and :meth:`Motion.hands`. Hand gestures move a hand from its
resting place to a contact point on the body (head-anchored points follow the head),
act there (scratch, rub, stroke, pull, tap, touch) and return; timing follows a
minimum-jerk envelope with optional repetitions.

Variation per instance: hand (left/right/both, subject handedness), contact point
(and a personal bias of the subject), hand orientation, finger curl, amplitude,
frequency, speed, number of repetitions, partial (not completed) reaches, head
response. Classes that are close in space (head / hat / forehead / hair / ear; jaw /
face / nails / neck / notch / collar; rub / hold / cross fingers / minaret / objects;
moving torso / sitting straight / head up; shoulders / turtling / deep breath) share
neighbouring contact regions on purpose.

Not modelled: "pressing lips" (29), invisible in a 22-joint skeleton.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from mgreason.synth.body import SIDE, Body, Controls, Style, arm_joints, head_points, unit
from mgreason.synth.idle import smooth_noise, smoothstep
from mgreason.taxonomy import IMIGUE

__all__ = ["Ctx", "Motion", "MOTIONS", "supported_raw_ids", "get_motion"]


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


def _bias(ctx: Ctx, s: np.ndarray, scale: float = 0.5) -> np.ndarray:
    """Personal contact-point bias of the subject (head units), mirrored for the left hand."""
    b = ctx.style.contact_bias * scale
    return b * np.stack([s, np.ones_like(s), np.ones_like(s)], -1)


# ---------------------------------------------------------------------------
# head-hand gestures
# ---------------------------------------------------------------------------


class TouchHat(HandGesture):
    raw_id = 3
    duration = (0.8, 2.5)
    actions = {"touch": 0.5, "stroke": 0.3, "pull": 0.2}
    amp = (0.004, 0.012)
    head_pitch = (0.0, 0.08)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        local = ctx.vec(ctx.u(-0.35, 0.35), -ctx.u(0.95, 1.12), -ctx.u(0.25, 0.8)) + _bias(ctx, s)
        return dict(
            p=ctx.head_point(local),
            d=ctx.jitter_dir(ctx.vec(-s * 0.25, -0.75, 0.6), 0.15),
            n=ctx.vec(0, 0.2, 1.0),
            k=ctx.u(0.75, 0.92),
            curl=ctx.u(0.3, 0.65),
            thumb=ctx.u(0.4, 0.8),
            pole=ctx.vec(s * 0.9, 0.1, -0.2),
            t1=ctx.vec(0, 0, 1.0),
            t2=ctx.vec(0, -0.3, 1.0),
        )


class TouchHead(HandGesture):
    raw_id = 4
    duration = (1.2, 4.0)
    actions = {"scratch": 0.6, "rub": 0.2, "touch": 0.2}
    amp = (0.004, 0.018)
    reps_p = (0.6, 0.3, 0.1)
    head_pitch = (0.0, 0.14)
    head_roll = (-0.06, 0.06)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        local = ctx.vec(s * ctx.u(0.05, 0.8), -ctx.u(0.78, 1.05), ctx.u(-0.35, 0.6)) + _bias(ctx, s)
        return dict(
            p=ctx.head_point(local),
            d=ctx.jitter_dir(ctx.vec(-s * 0.55, -0.55, 0.35), 0.25),
            n=ctx.vec(-s * 0.4, 1.0, 0.0),
            k=ctx.u(0.75, 0.95),
            curl=ctx.u(0.25, 0.55),
            pole=ctx.jitter_dir(ctx.vec(s * 1.0, -0.15, 0.25), 0.2),
        )


class TouchForehead(HandGesture):
    raw_id = 5
    duration = (1.0, 3.5)
    actions = {"scratch": 0.4, "rub": 0.2, "stroke": 0.25, "touch": 0.15}
    amp = (0.004, 0.015)
    reps_p = (0.7, 0.3)
    head_pitch = (0.02, 0.15)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        local = ctx.vec(ctx.u(-0.35, 0.35), -ctx.u(0.38, 0.68), -ctx.u(0.8, 0.95)) + _bias(ctx, s)
        return dict(
            p=ctx.head_point(local),
            d=ctx.jitter_dir(ctx.vec(-s * 0.8, -0.45, 0.25), 0.2),
            n=ctx.vec(0, 0.1, 1.0),
            k=ctx.u(0.75, 0.95),
            curl=ctx.u(0.15, 0.5),
            pole=ctx.jitter_dir(ctx.vec(s * 0.8, 0.5, -0.4), 0.2),
            t1=ctx.vec(1.0, 0, 0),
        )


class CoverFace(HandGesture):
    raw_id = 6
    duration = (1.5, 4.0)
    actions = {"touch": 0.7, "rub": 0.3}
    amp = (0.003, 0.01)
    both_p = 0.8
    head_pitch = (0.1, 0.3)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        spread = np.where(ctx.p["both"], 1.0, 0.0)
        local = ctx.vec(s * ctx.u(0.2, 0.45) * spread, ctx.u(0.0, 0.35), -ctx.u(0.95, 1.1)) + _bias(ctx, s, 0.3)
        return dict(
            p=ctx.head_point(local),
            d=ctx.jitter_dir(ctx.vec(-s * 0.15, -1.0, 0.2), 0.15),
            n=ctx.vec(0, 0, 1.0),
            k=ctx.u(0.4, 0.6),
            curl=ctx.u(0.0, 0.25),
            spread=ctx.u(0.9, 1.3),
            pole=ctx.vec(s * 0.5, 0.9, -0.4),
            occl=0.4,
        )


class RubEyes(HandGesture):
    raw_id = 7
    duration = (1.0, 3.5)
    actions = {"rub": 0.8, "touch": 0.2}
    amp = (0.004, 0.012)
    both_p = 0.35
    head_pitch = (0.05, 0.2)

    def sample(self, ctx: Ctx) -> None:
        super().sample(ctx)
        ctx.p["eye"] = np.where(ctx.coin(0.7), 1.0, 0.0)  # 1 = the eye on the hand's side, 0 = both eyes

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        one = np.where(ctx.p["both"], 1.0, ctx.p["eye"])
        x = s * ctx.u(0.2, 0.42) * one + (1 - one) * ctx.u(-0.1, 0.1)
        local = ctx.vec(x, -ctx.u(0.05, 0.3), -ctx.u(0.92, 1.05)) + _bias(ctx, s, 0.3)
        return dict(
            p=ctx.head_point(local),
            d=ctx.jitter_dir(ctx.vec(-s * 0.35, -0.85, 0.35), 0.2),
            n=ctx.vec(0, 0, 1.0),
            k=ctx.u(0.6, 0.9),
            curl=ctx.u(0.4, 0.85),
            pole=ctx.vec(s * 0.6, 0.8, -0.3),
            occl=0.3,
        )


class TouchFace(HandGesture):
    raw_id = 8
    duration = (0.8, 3.0)
    actions = {"scratch": 0.4, "touch": 0.35, "rub": 0.25}
    amp = (0.003, 0.012)
    head_pitch = (-0.02, 0.1)
    head_roll = (0.0, 0.06)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        spot = ctx.pick({"nose": 0.35, "cheek": 0.35, "mouth": 0.2, "temple": 0.1})
        x = np.select(
            [spot == "nose", spot == "cheek", spot == "mouth"],
            [ctx.u(-0.08, 0.08), s * ctx.u(0.35, 0.7), ctx.u(-0.15, 0.15)],
            s * ctx.u(0.75, 0.9),
        )
        y = np.select(
            [spot == "nose", spot == "cheek", spot == "mouth"],
            [ctx.u(0.0, 0.2), ctx.u(0.1, 0.5), ctx.u(0.45, 0.6)],
            -ctx.u(0.2, 0.45),
        )
        z = np.select(
            [spot == "nose", spot == "cheek", spot == "mouth"],
            [-ctx.u(1.05, 1.15), -ctx.u(0.7, 0.9), -ctx.u(0.9, 1.0)],
            -ctx.u(0.3, 0.5),
        )
        return dict(
            p=ctx.head_point(ctx.vec(x, y, z) + _bias(ctx, s)),
            d=ctx.jitter_dir(ctx.vec(-s * 0.4, -0.8, 0.3), 0.25),
            n=ctx.vec(0, 0, 1.0),
            k=ctx.u(0.8, 0.95),
            curl=ctx.u(0.2, 0.6),
            pole=ctx.jitter_dir(ctx.vec(s * 0.6, 0.8, -0.3), 0.2),
        )


class TouchEars(HandGesture):
    raw_id = 9
    duration = (0.8, 3.0)
    actions = {"touch": 0.35, "rub": 0.35, "pull": 0.3}
    amp = (0.004, 0.012)
    head_roll = (0.0, 0.1)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        se = np.where(ctx.coin(0.85), s, -s)  # usually the ear on the hand's side
        local = ctx.vec(se * ctx.u(0.95, 1.08), ctx.u(-0.25, 0.2), ctx.u(-0.15, 0.2)) + _bias(ctx, s, 0.3)
        return dict(
            p=ctx.head_point(local),
            d=ctx.jitter_dir(ctx.vec(-se * 0.15, -1.0, 0.1), 0.2),
            n=ctx.vec(-se, 0.0, 0.0),
            k=ctx.u(0.75, 0.9),
            curl=ctx.u(0.3, 0.7),
            thumb=ctx.u(0.5, 0.9),
            pole=ctx.jitter_dir(ctx.vec(s * 1.0, 0.3, 0.1), 0.2),
            t2=ctx.vec(0, -1.0, 0),
        )


class BiteNails(HandGesture):
    raw_id = 10
    duration = (1.5, 4.0)
    actions = {"nibble": 0.7, "touch": 0.3}
    amp = (0.003, 0.008)
    head_pitch = (0.05, 0.2)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        local = ctx.vec(ctx.u(-0.12, 0.12), ctx.u(0.5, 0.62), -ctx.u(1.0, 1.12)) + _bias(ctx, s, 0.3)
        return dict(
            p=ctx.head_point(local),
            d=ctx.jitter_dir(ctx.vec(-s * 0.35, -0.7, 0.65), 0.15),
            n=ctx.vec(-s * 0.3, 0.0, 1.0),
            k=ctx.u(0.8, 0.95),
            curl=ctx.u(0.45, 0.75),
            pole=ctx.vec(s * 0.4, 1.0, -0.4),
        )


class TouchJaw(HandGesture):
    raw_id = 11
    duration = (1.0, 4.0)
    actions = {"touch": 0.55, "stroke": 0.25, "scratch": 0.2}
    amp = (0.004, 0.012)
    head_pitch = (0.0, 0.1)
    head_roll = (0.0, 0.08)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        rest = ctx.p["action"] == "touch"  # chin resting on the hand
        x = s * np.where(rest, ctx.u(0.0, 0.3), ctx.u(0.1, 0.55))
        y = np.where(rest, ctx.u(0.9, 1.05), ctx.u(0.75, 0.95))
        z = -np.where(rest, ctx.u(0.45, 0.7), ctx.u(0.5, 0.8))
        return dict(
            p=ctx.head_point(ctx.vec(x, y, z) + _bias(ctx, s)),
            d=ctx.jitter_dir(ctx.vec(-s * 0.3, -0.9, 0.1), 0.2),
            n=ctx.vec(-s * 0.3, -0.3, 1.0),
            k=np.where(rest, ctx.u(0.3, 0.5), ctx.u(0.8, 0.9)),
            curl=ctx.u(0.2, 0.6),
            pole=ctx.vec(s * 0.3, 1.0, -0.5),
            t1=ctx.vec(s * 0.8, -0.6, 0),
        )


class TouchNeck(HandGesture):
    raw_id = 12
    duration = (1.0, 4.0)
    actions = {"scratch": 0.45, "rub": 0.3, "touch": 0.25}
    amp = (0.004, 0.015)
    head_pitch = (-0.15, 0.05)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        chin = ctx.head_point(ctx.vec(0.0, 0.95, -0.55))
        base = np.array([0.0, -0.01, -0.05])
        f = ctx.u(0.2, 0.65)[:, None, None]
        back = ctx.coin(0.12)
        lateral = ctx.vec(s * ctx.u(-0.01, 0.05), 0.0, np.where(back, 0.09, -0.01))
        p = base + f * (chin - base) + lateral[:, None, :]
        return dict(
            p=p,
            d=ctx.jitter_dir(np.where(back[:, None], ctx.vec(-s * 0.5, -0.3, 0.5), ctx.vec(-s * 0.85, -0.3, 0.3)), 0.2),
            n=np.where(back[:, None], ctx.vec(0, 0, -1.0), ctx.vec(0, 0, 1.0)),
            k=ctx.u(0.7, 0.9),
            curl=ctx.u(0.2, 0.6),
            pole=ctx.jitter_dir(ctx.vec(s * 0.7, 0.7, -0.2), 0.2),
            occl=np.where(back, 0.6, 0.1),
            t1=ctx.vec(0, 1.0, 0),
        )


class PlayHair(HandGesture):
    raw_id = 13
    duration = (1.0, 3.5)
    actions = {"stroke": 0.6, "rub": 0.25, "touch": 0.15}
    amp = (0.006, 0.02)
    reps_p = (0.6, 0.3, 0.1)
    head_roll = (-0.1, 0.1)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        act = ctx.p["action"]
        twirl = act == "rub"
        sweep_a = ctx.vec(s * ctx.u(0.45, 0.8), -ctx.u(0.5, 0.85), -ctx.u(0.3, 0.7))
        sweep_b = ctx.vec(s * ctx.u(0.85, 1.0), -ctx.u(0.1, 0.45), ctx.u(0.25, 0.6))
        twirl_p = ctx.vec(s * ctx.u(0.9, 1.1), ctx.u(0.2, 0.8), ctx.u(0.0, 0.3))
        local = np.where(twirl[:, None], twirl_p, sweep_a) + _bias(ctx, s)
        p = ctx.head_point(local)
        along = ctx.head_point(sweep_b + _bias(ctx, s)) - ctx.head_point(sweep_a + _bias(ctx, s))
        t1 = unit(along.mean(axis=1))
        return dict(
            p=p,
            d=ctx.jitter_dir(ctx.vec(-s * 0.3, -0.8, 0.4), 0.25),
            n=ctx.vec(-s * 0.8, 0.3, 0.3),
            k=ctx.u(0.6, 0.85),
            curl=ctx.u(0.2, 0.6),
            pole=ctx.jitter_dir(ctx.vec(s * 1.0, 0.0, 0.1), 0.2),
            t1=t1,
        )


# ---------------------------------------------------------------------------
# body-hand gestures (torso frame)
# ---------------------------------------------------------------------------


class AdjustCollar(HandGesture):
    raw_id = 14
    duration = (1.0, 3.0)
    actions = {"pull": 0.6, "touch": 0.4}
    amp = (0.006, 0.015)
    both_p = 0.45
    head_pitch = (-0.1, 0.2)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        both = ctx.p["both"]
        x = np.where(both, s * ctx.u(0.03, 0.08), ctx.u(-0.02, 0.02))
        return dict(
            p=ctx.vec(x, ctx.u(-0.03, 0.06), -ctx.u(0.06, 0.1)),
            d=ctx.jitter_dir(ctx.vec(-s * 0.2, -1.0, 0.2), 0.2),
            n=ctx.vec(0, 0, 1.0),
            k=ctx.u(0.55, 0.8),
            curl=ctx.u(0.5, 0.85),
            thumb=ctx.u(0.6, 0.9),
            pole=ctx.vec(s * 0.5, 0.9, -0.5),
            t2=ctx.vec(s * 0.5, -1.0, 0),
        )


class TouchNotch(HandGesture):
    raw_id = 15
    duration = (1.0, 4.0)
    actions = {"touch": 0.6, "rub": 0.2, "scratch": 0.2}
    amp = (0.003, 0.01)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        return dict(
            p=ctx.vec(ctx.u(-0.025, 0.025), ctx.u(-0.01, 0.05), -ctx.u(0.05, 0.08)),
            d=ctx.jitter_dir(ctx.vec(-s * 0.75, -0.55, 0.2), 0.25),
            n=ctx.vec(0, 0, 1.0),
            k=ctx.u(0.5, 0.9),
            curl=ctx.u(0.1, 0.5),
            pole=ctx.vec(s * 0.5, 0.9, -0.4),
        )


class ScratchBack(HandGesture):
    raw_id = 16
    duration = (1.0, 3.0)
    actions = {"scratch": 0.8, "rub": 0.2}
    amp = (0.006, 0.02)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        over = ctx.coin(0.6)  # over the shoulder, else behind the lower back
        p = np.where(
            over[:, None],
            ctx.vec(s * ctx.u(0.0, 0.12), ctx.u(-0.02, 0.1), ctx.u(0.12, 0.22)),
            ctx.vec(s * ctx.u(0.05, 0.2), ctx.u(0.35, 0.5), ctx.u(0.15, 0.25)),
        )
        return dict(
            p=p,
            d=np.where(over[:, None], ctx.vec(-s * 0.1, 0.7, 0.6), ctx.vec(-s * 0.3, -0.6, 0.7)),
            n=ctx.vec(0, 0, -1.0),
            k=ctx.u(0.6, 0.9),
            curl=ctx.u(0.3, 0.6),
            pole=np.where(over[:, None], ctx.vec(s * 0.4, -1.0, -0.4), ctx.vec(s * 0.8, 0.3, 0.6)),
            vis=np.where(over, ctx.u(0.3, 0.7), ctx.u(0.0, 0.2)),
            occl=0.8,
        )


class FoldArms(HandGesture):
    raw_id = 17
    duration = (2.0, 6.0)
    actions = {"touch": 0.8, "rub": 0.2}
    amp = (0.003, 0.01)
    both_p = 1.0
    partial_p = 0.03

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        half = ctx.body.shoulder_w / 2
        if primary:  # the hand on top grips the other upper arm
            return dict(
                p=ctx.vec(-s * half * ctx.u(0.75, 1.0), ctx.u(0.17, 0.28), -ctx.u(0.08, 0.14)),
                d=ctx.jitter_dir(ctx.vec(-s * 0.8, 0.1, 0.5), 0.15),
                n=ctx.vec(-s * 0.3, 0.0, 1.0),
                k=ctx.u(0.5, 0.75),
                curl=ctx.u(0.3, 0.6),
                pole=ctx.vec(s * 0.15, 1.0, -0.6),
                occl=0.4,
            )
        return dict(  # the other hand tucked under the arm
            p=ctx.vec(-s * half * ctx.u(0.55, 0.85), ctx.u(0.22, 0.32), -ctx.u(0.05, 0.1)),
            d=ctx.jitter_dir(ctx.vec(-s * 0.9, 0.0, 0.4), 0.15),
            n=ctx.vec(0, 0, 1.0),
            k=ctx.u(0.5, 0.7),
            curl=ctx.u(0.2, 0.6),
            pole=ctx.vec(s * 0.15, 1.0, -0.5),
            occl=0.85,
            vis=ctx.u(0.4, 0.9),
        )


class DustClothes(HandGesture):
    raw_id = 18
    duration = (0.8, 2.5)
    actions = {"stroke": 1.0}
    amp = (0.01, 0.025)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        spot = ctx.pick({"chest": 0.35, "arm": 0.4, "lap": 0.25})
        other = ctx.arm(1 - side)
        f = ctx.u(0.3, 0.8)[:, None, None]
        on_arm = other["shoulder"] + f * (other["elbow"] - other["shoulder"]) + np.array([0, -0.01, -0.05])
        chest = ctx.vec(-s * ctx.u(0.0, 0.1), ctx.u(0.08, 0.25), -ctx.u(0.1, 0.14))[:, None, :]
        lap = ctx.vec(s * ctx.u(0.0, 0.15), ctx.body.table_y + 0.06, -ctx.u(0.15, 0.25))[:, None, :]
        p = np.where((spot == "arm")[:, None, None], on_arm, np.where((spot == "chest")[:, None, None], chest, lap))
        return dict(
            p=p,
            d=ctx.jitter_dir(ctx.vec(-s * 0.7, 0.3, -0.3), 0.3),
            n=ctx.vec(0, 0.3, 1.0),
            k=ctx.u(0.5, 0.75),
            curl=ctx.u(0.0, 0.3),
            pole=ctx.vec(s * 0.5, 0.9, -0.2),
            vis=np.where(spot == "lap", ctx.u(0.2, 0.6), 1.0),
            t1=ctx.jitter_dir(ctx.vec(s * 0.5, 1.0, 0.0), 0.3),
        )


class ArmsBehind(HandGesture):
    raw_id = 19
    duration = (1.5, 5.0)
    actions = {"touch": 1.0}
    both_p = 0.8
    partial_p = 0.0

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        return dict(
            p=ctx.vec(s * ctx.u(0.06, 0.16), ctx.u(0.38, 0.52), ctx.u(0.15, 0.24)),
            d=ctx.vec(-s * 0.5, 0.3, 0.2),
            n=ctx.vec(0, 0, -1.0),
            k=ctx.u(0.2, 0.4),
            pole=ctx.vec(s * 0.5, 0.2, 1.0),
            vis=ctx.u(0.0, 0.15),
        )


class ScratchArm(HandGesture):
    raw_id = 22
    duration = (1.0, 4.0)
    actions = {"scratch": 0.55, "rub": 0.25, "touch": 0.2}
    amp = (0.005, 0.02)

    def hands(self, ctx: Ctx) -> None:
        # the supporting forearm rises a little before the other hand reaches it
        other = 1 - ctx.p["side"]
        lift = ctx.vec(0, -ctx.u(0.0, 0.1), -ctx.u(0.0, 0.05))
        cur = ctx.ctl["hand_p"][np.arange(ctx.n), :, other]
        ctx.set_hand(other, ctx.p["env"], p=cur + lift[:, None, :])
        super().hands(ctx)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        other = ctx.arm(1 - side)
        fore = ctx.coin(0.6)
        f = ctx.u(0.2, 0.85)[:, None, None]
        a = np.where(fore[:, None, None], other["elbow"], other["shoulder"])
        b = np.where(fore[:, None, None], other["wrist"], other["elbow"])
        p = a + f * (b - a) + np.array([0.0, -0.02, -0.035])
        axis = unit((b - a).mean(axis=1))
        return dict(
            p=p,
            d=ctx.jitter_dir(ctx.vec(-s * 0.6, 0.6, 0.3), 0.25),
            n=ctx.vec(0, 0.5, 1.0),
            k=ctx.u(0.75, 0.9),
            curl=ctx.u(0.3, 0.7),
            pole=ctx.vec(s * 0.5, 0.9, -0.3),
            t1=axis,
            t2=axis,
        )


class HoldBackArms(HandGesture):
    raw_id = 27
    duration = (1.5, 5.0)
    actions = {"touch": 1.0}
    both_p = 0.85
    partial_p = 0.0

    def body(self, ctx: Ctx) -> None:
        super().body(ctx)
        ctx.ctl["shoulder_fwd"] -= (ctx.p["env"] * ctx.u(0.005, 0.02)[:, None])[..., None]

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        return dict(
            p=ctx.vec(s * ctx.u(0.1, 0.2), ctx.u(0.42, 0.55), -ctx.u(0.0, 0.08)),
            d=ctx.vec(-s * 0.4, 0.6, -0.6),
            n=ctx.vec(-s * 0.5, 1.0, 0.0),
            k=ctx.u(0.1, 0.3),
            pole=ctx.vec(s * 0.15, 0.8, 0.6),
            vis=ctx.u(0.2, 0.7),
        )


class ArmsAkimbo(HandGesture):
    raw_id = 30
    duration = (1.5, 5.0)
    actions = {"touch": 1.0}
    both_p = 0.85
    partial_p = 0.03

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        half = ctx.body.shoulder_w / 2
        return dict(
            p=ctx.vec(s * (half + ctx.u(-0.02, 0.04)), ctx.u(0.42, 0.55), ctx.u(-0.04, 0.04)),
            d=ctx.jitter_dir(ctx.vec(-s * 0.35, 0.35, -0.85), 0.15),
            n=ctx.vec(-s * 1.0, 0.0, 0.0),
            k=ctx.u(0.45, 0.6),
            curl=ctx.u(0.1, 0.4),
            pole=ctx.jitter_dir(ctx.vec(s * 1.0, -0.25, 0.35), 0.15),
            vis=ctx.u(0.4, 0.95),
        )


# ---------------------------------------------------------------------------
# hands together (torso frame, around a centre in front of the body)
# ---------------------------------------------------------------------------


class HandsTogether(HandGesture):
    both_p = 1.0
    partial_p = 0.0

    def sample(self, ctx: Ctx) -> None:
        super().sample(ctx)
        raised = ctx.coin(0.35)
        y = ctx.body.table_y + np.where(raised, -ctx.u(0.12, 0.25), -ctx.u(0.0, 0.06))
        ctx.p["center"] = ctx.vec(ctx.u(-0.06, 0.06), y, ctx.body.table_z * ctx.u(0.8, 1.15))
        ctx.p["raised"] = raised


class RubHands(HandsTogether):
    raw_id = 23
    duration = (1.0, 4.0)
    actions = {"rub": 0.55, "touch": 0.45}  # touch = holding one hand in the other
    amp = (0.006, 0.02)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        c = ctx.p["center"]
        rub = ctx.p["action"] == "rub"
        top = primary  # in the holding style, the primary hand wraps the other
        p_rub = c + ctx.vec(s * ctx.u(0.03, 0.05), 0, 0)
        d_rub = ctx.vec(-s * 0.25, -ctx.u(0.2, 0.6), -1.0)
        n_rub = ctx.vec(-s, 0, 0)
        if top:
            p_hold = c + ctx.vec(s * 0.03, -0.02, 0.0)
            d_hold, n_hold = ctx.vec(-s * 0.9, 0.1, -0.45), ctx.vec(0, 1.0, 0)
        else:
            p_hold = c + ctx.vec(s * 0.04, 0.01, 0.0)
            d_hold, n_hold = ctx.vec(-s * 0.6, 0.05, -0.8), ctx.vec(0, -1.0, 0)
        r = rub[:, None]
        return dict(
            p=np.where(r, p_rub, p_hold),
            d=ctx.jitter_dir(np.where(r, d_rub, d_hold), 0.15),
            n=np.where(r, n_rub, n_hold),
            k=np.where(rub, ctx.u(0.3, 0.45), ctx.u(0.4, 0.6)),
            curl=np.where(rub, ctx.u(0.0, 0.3), ctx.u(0.3, 0.7)),
            pole=ctx.vec(s * 0.5, 0.8, 0.3),
            t1=ctx.vec(0, -0.3, -1.0) * (1 if primary else -1),
            t2=ctx.vec(s, 0, 0),
        )


class CrossFingers(HandsTogether):
    raw_id = 24
    duration = (1.5, 5.0)
    actions = {"touch": 0.6, "tap": 0.4}
    amp = (0.002, 0.008)

    def hands(self, ctx: Ctx) -> None:
        super().hands(ctx)
        # thumbs twiddle in half of the instances
        tw = ctx.coin(0.5)
        f = ctx.u(1.0, 2.5) * ctx.style.tempo
        w = 0.35 * ctx.osc(f) * ctx.p["env"]
        for side in (0, 1):
            ctx.ctl["thumb"][tw, :, side] = np.clip(0.4 + w[tw] * (1 if side == 0 else -1), 0, 1)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        c = ctx.p["center"]
        up = np.where(ctx.p["raised"], ctx.u(0.3, 0.9), ctx.u(0.0, 0.3))
        return dict(
            p=c + ctx.vec(s * ctx.u(0.05, 0.075), 0, 0),
            d=ctx.jitter_dir(ctx.vec(-s * 0.95, -up, -ctx.u(0.1, 0.5)), 0.1),
            n=ctx.vec(-s * 0.7, 0.7, 0.0),
            k=0.0,
            curl=ctx.u(0.45, 0.7),
            spread=ctx.u(0.8, 1.1),
            pole=ctx.vec(s * 0.5, 0.8, 0.2),
        )


class Minaret(HandsTogether):
    raw_id = 25
    duration = (1.5, 5.0)
    actions = {"touch": 0.5, "tap": 0.5}
    amp = (0.004, 0.012)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        apex = ctx.p["center"] + ctx.vec(0, -ctx.u(0.08, 0.2), -ctx.u(0.0, 0.05))
        return dict(
            p=apex + ctx.vec(s * 0.005, 0, 0),
            d=ctx.jitter_dir(ctx.vec(-s * ctx.u(0.35, 0.7), -ctx.u(0.6, 1.0), -ctx.u(0.0, 0.3)), 0.08),
            n=ctx.vec(-s, 0.3, 0),
            k=1.0,
            curl=ctx.u(0.0, 0.15),
            spread=ctx.u(1.0, 1.3),
            thumb=ctx.u(0.1, 0.3),
            pole=ctx.vec(s * 0.6, 0.9, 0.2),
        )


class PlayObjects(HandsTogether):
    raw_id = 26
    duration = (1.5, 5.0)
    actions = {"touch": 1.0}
    amp = (0.004, 0.012)

    def sample(self, ctx: Ctx) -> None:
        super().sample(ctx)
        ctx.p["both"] = ctx.coin(0.5)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        c = ctx.p["center"]
        wobble = smooth_noise(ctx.rng, (ctx.n, ctx.L, 3), 0.2 * ctx.fps)
        amp = (ctx.p["amp"] * (1.2 if primary else 0.4))[:, None, None]
        p = (c + ctx.vec(s * ctx.u(0.0, 0.06), ctx.u(-0.05, 0.02), ctx.u(-0.05, 0.05)))[:, None, :] + amp * wobble
        return dict(
            p=p,
            d=ctx.jitter_dir(ctx.vec(-s * 0.5, -0.1, -1.0), 0.25),
            n=ctx.vec(-s * 0.3, 0.5, -0.3),
            k=ctx.u(0.4, 0.7),
            curl=ctx.u(0.3, 0.7),
            thumb=ctx.u(0.3, 0.8),
            pole=ctx.vec(s * 0.5, 0.8, 0.3),
        )

    def hands(self, ctx: Ctx) -> None:
        super().hands(ctx)
        env = ctx.p["env"]
        side = ctx.p["side"]
        finger = 0.25 * smooth_noise(ctx.rng, (ctx.n, ctx.L), 0.12 * ctx.fps) * env
        r = np.arange(ctx.n)
        ctx.ctl["curl"][r, :, side] = np.clip(ctx.ctl["curl"][r, :, side] + finger, 0, 1)
        ctx.ctl["thumb"][r, :, side] = np.clip(ctx.ctl["thumb"][r, :, side] - finger, 0, 1)


# ---------------------------------------------------------------------------
# illustrative gestures (the non-micro-gesture class)
# ---------------------------------------------------------------------------


class Illustrative(HandGesture):
    raw_id = 99
    duration = (1.0, 4.0)
    both_p = 0.45
    partial_p = 0.0

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        n, L = ctx.n, ctx.L
        K = 4
        keys = np.stack(
            [
                ctx.vec(s * ctx.u(-0.02, 0.3), ctx.u(0.05, 0.3), -ctx.u(0.25, 0.5))
                for _ in range(K)
            ],
            1,
        )  # (n, K, 3)
        step = ctx.u(0.4, 1.0) / ctx.style.tempo
        pos = ctx.tau / step[:, None]  # key index in time
        i0 = np.clip(np.floor(pos).astype(int), 0, K - 1)
        i1 = np.clip(i0 + 1, 0, K - 1)
        w = smoothstep(pos - np.floor(pos))[..., None]
        rows = np.arange(n)[:, None]
        p = keys[rows, i0] * (1 - w) + keys[rows, i1] * w
        beat_f = ctx.u(1.5, 3.0) * ctx.style.tempo
        beat = ctx.u(0.01, 0.05) * ctx.style.amplitude * (1.0 if primary else 0.6)
        p = p + (beat[:, None] * np.abs(ctx.osc(beat_f)))[..., None] * np.array([0, 1.0, 0])
        palm = ctx.pick({"up": 0.4, "side": 0.35, "out": 0.25})
        nrm = np.select(
            [(palm == "up")[:, None], (palm == "side")[:, None]],
            [ctx.vec(0, -1.0, 0), ctx.vec(-s, 0, 0)],
            ctx.vec(0, 0, -1.0),
        )
        return dict(
            p=p,
            d=ctx.jitter_dir(ctx.vec(-s * 0.3, -0.2, -1.0), 0.3),
            n=nrm,
            k=ctx.u(0.0, 0.3),
            curl=ctx.u(0.0, 0.35),
            spread=ctx.u(1.0, 1.4),
            pole=ctx.jitter_dir(ctx.vec(s * 0.8, 0.6, 0.1), 0.2),
        )

    def apply_action(self, ctx: Ctx, tgt: dict[str, np.ndarray], primary: bool) -> dict[str, np.ndarray]:
        tgt = dict(tgt)
        tgt["curl"] = np.broadcast_to(np.asarray(tgt["curl"])[:, None], (ctx.n, ctx.L))
        return tgt


# ---------------------------------------------------------------------------
# body / head / shoulder movements (hands stay where they rest)
# ---------------------------------------------------------------------------


class BodyMotion(Motion):
    def sample(self, ctx: Ctx) -> None:
        super().sample(ctx)
        ctx.p["amp"] = ctx.style.amplitude * ctx.amplitude * ctx.u(0.7, 1.3)


class TurtleNeck(BodyMotion):
    raw_id = 1
    duration = (1.0, 3.0)

    def body(self, ctx: Ctx) -> None:
        e = (ctx.p["env"] * ctx.p["amp"][:, None])[..., None]
        ctx.ctl["shrug"] += e * ctx.u(0.015, 0.04)[:, None, None]
        ctx.ctl["head_off"] += e * ctx.vec(0, ctx.u(0.015, 0.04), -ctx.u(0.0, 0.03))[:, None, :]
        ctx.ctl["head_rot"][..., 0] += e[..., 0] * ctx.u(0.0, 0.1)[:, None]


class DeepBreath(BodyMotion):
    raw_id = 2
    duration = (1.5, 4.0)

    def sample(self, ctx: Ctx) -> None:
        super().sample(ctx)
        ctx.p["env"] = ctx.envelope(rise=ctx.u(0.6, 1.3), fall=ctx.u(0.8, 1.5))

    def body(self, ctx: Ctx) -> None:
        e = ctx.p["env"] * ctx.p["amp"][:, None]
        ctx.ctl["shrug"] += (e * ctx.u(0.008, 0.02)[:, None])[..., None]
        ctx.ctl["torso_rot"][..., 0] -= e * ctx.u(0.02, 0.06)[:, None]
        ctx.ctl["torso_pos"][..., 1] -= e * ctx.u(0.004, 0.015)[:, None]
        ctx.ctl["head_rot"][..., 0] -= e * ctx.u(0.0, 0.06)[:, None]
        ctx.ctl["shoulder_fwd"] -= (e * ctx.u(0.0, 0.01)[:, None])[..., None]


class MoveTorso(BodyMotion):
    raw_id = 20
    duration = (1.0, 4.0)

    def body(self, ctx: Ctx) -> None:
        env, amp = ctx.p["env"], ctx.p["amp"][:, None]
        style = ctx.pick({"lean": 0.4, "shift": 0.3, "rock": 0.3})
        sign = np.where(ctx.coin(0.5), 1.0, -1.0)[:, None]
        rock_f = ctx.u(0.5, 1.2) * ctx.style.tempo
        rock = ctx.osc(rock_f, phase=np.zeros(ctx.n))
        lean = (style == "lean")[:, None]
        shift = (style == "shift")[:, None]
        rk = (style == "rock")[:, None]
        pitch = np.where(lean, sign * ctx.u(0.06, 0.18)[:, None] * env, 0.0)
        pitch += np.where(rk & ctx.coin(0.5)[:, None], ctx.u(0.03, 0.08)[:, None] * rock * env, 0.0)
        roll = np.where(shift, sign * ctx.u(0.03, 0.1)[:, None] * env, 0.0)
        roll += np.where(rk & (pitch == 0), ctx.u(0.03, 0.08)[:, None] * rock * env, 0.0)
        dx = np.where(shift, sign * ctx.u(0.03, 0.09)[:, None] * env, 0.0)
        ctx.ctl["torso_rot"][..., 0] += pitch * amp
        ctx.ctl["torso_rot"][..., 2] += roll * amp
        ctx.ctl["torso_rot"][..., 1] += ctx.u(-0.05, 0.05)[:, None] * env * amp
        ctx.ctl["torso_pos"][..., 0] += dx * amp
        ctx.ctl["head_rot"][..., 0] -= 0.5 * pitch * amp  # keep looking ahead
        ctx.ctl["head_rot"][..., 2] -= 0.4 * roll * amp


class SitStraight(BodyMotion):
    raw_id = 21
    duration = (1.0, 3.0)

    def sample(self, ctx: Ctx) -> None:
        super().sample(ctx)
        rise = ctx.envelope(rise=ctx.u(0.5, 1.2), fall=np.full(ctx.n, 1e-3), dur=ctx.dur + 100.0)
        back = ctx.envelope(rise=np.full(ctx.n, 1e-3), fall=ctx.u(0.4, 0.9), dur=ctx.dur)
        keep = ctx.u(0.5, 1.0)[:, None]  # part of the new posture kept at the end
        ctx.p["env"] = rise * (keep + (1 - keep) * back)

    def body(self, ctx: Ctx) -> None:
        e, amp = ctx.p["env"], ctx.p["amp"][:, None]
        ctx.ctl["torso_rot"][..., 0] -= e * amp * (ctx.style.slouch[:, None] * 0.6 + ctx.u(0.04, 0.12)[:, None])
        ctx.ctl["torso_pos"][..., 1] -= e * amp * ctx.u(0.015, 0.05)[:, None]
        ctx.ctl["shoulder_fwd"] -= (e * amp * ctx.u(0.005, 0.02)[:, None])[..., None]
        ctx.ctl["head_rot"][..., 0] -= e * ctx.u(0.0, 0.05)[:, None]


class HeadUp(BodyMotion):
    raw_id = 28
    duration = (1.0, 3.5)

    def body(self, ctx: Ctx) -> None:
        e, amp = ctx.p["env"], ctx.p["amp"][:, None]
        ctx.ctl["head_rot"][..., 0] -= e * amp * ctx.u(0.15, 0.4)[:, None]
        ctx.ctl["head_rot"][..., 1] += e * ctx.u(-0.1, 0.1)[:, None]
        ctx.ctl["head_off"] += (e * amp)[..., None] * ctx.vec(0, -ctx.u(0, 0.01), ctx.u(0, 0.02))[:, None, :]
        ctx.ctl["torso_rot"][..., 0] -= e * ctx.u(0.0, 0.04)[:, None]


class ShakeShoulders(BodyMotion):
    raw_id = 31
    duration = (0.8, 3.0)

    def body(self, ctx: Ctx) -> None:
        e, amp = ctx.p["env"], ctx.p["amp"][:, None]
        shake = ctx.coin(0.7)
        f = ctx.u(1.5, 4.0) * ctx.style.tempo
        alt = ctx.coin(0.2)  # alternating left/right
        ph = 2 * np.pi * f[:, None] * ctx.tau
        up = np.where(shake[:, None], 0.5 - 0.5 * np.cos(ph), 1.0) * e * amp
        a = np.where(shake, ctx.u(0.008, 0.03), ctx.u(0.02, 0.05))[:, None]
        right = up * a
        left = np.where(alt[:, None], (0.5 - 0.5 * np.cos(ph + np.pi)) * e * amp * a, right)
        ctx.ctl["shrug"][..., 0] += right
        ctx.ctl["shrug"][..., 1] += left
        ctx.ctl["head_off"][..., 1] -= 0.3 * (right + left) / 2


# ---------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------

_ALL = [
    TurtleNeck, DeepBreath, TouchHat, TouchHead, TouchForehead, CoverFace, RubEyes, TouchFace, TouchEars,
    BiteNails, TouchJaw, TouchNeck, PlayHair, AdjustCollar, TouchNotch, ScratchBack, FoldArms, DustClothes,
    ArmsBehind, MoveTorso, SitStraight, ScratchArm, RubHands, CrossFingers, Minaret, PlayObjects, HoldBackArms,
    HeadUp, ArmsAkimbo, ShakeShoulders, Illustrative,
]  # fmt: skip
MOTIONS: dict[int, Motion] = {cls.raw_id: cls() for cls in _ALL}


def supported_raw_ids() -> list[int]:
    """iMiGUE raw class ids the generator can produce, in taxonomy order."""
    return [c.raw_id for c in IMIGUE.classes if c.raw_id in MOTIONS]


def get_motion(raw_id: int) -> Motion:
    try:
        return MOTIONS[raw_id]
    except KeyError:
        raise KeyError(f"no synthetic motion for iMiGUE class {raw_id}") from None
