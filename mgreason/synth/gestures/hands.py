"""Hands together around a centre in front of the body, and the illustrative (non-micro-gesture) class."""

from __future__ import annotations

import numpy as np

from mgreason.synth.engine import Ctx, HandGesture, register
from mgreason.synth.idle import smooth_noise, smoothstep


class HandsTogether(HandGesture):
    """Base of the hands-together gestures: both hands meet around a sampled centre (not registered itself)."""

    both_p = 1.0
    partial_p = 0.0

    def sample(self, ctx: Ctx) -> None:
        super().sample(ctx)
        raised = ctx.coin(0.35)
        y = ctx.body.table_y + np.where(raised, -ctx.u(0.12, 0.25), -ctx.u(0.0, 0.06))
        ctx.p["center"] = ctx.vec(ctx.u(-0.06, 0.06), y, ctx.body.table_z * ctx.u(0.8, 1.15))
        ctx.p["raised"] = raised


@register
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


@register
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


@register
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


@register
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
@register
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
