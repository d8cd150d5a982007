"""Hand-to-head gestures: the contact point is in head units and follows the head."""

from __future__ import annotations

import numpy as np

from mgreason.synth.body import unit
from mgreason.synth.engine import Ctx, HandGesture, contact_bias, register


@register
class TouchHat(HandGesture):
    raw_id = 3
    duration = (0.8, 2.5)
    actions = {"touch": 0.5, "stroke": 0.3, "pull": 0.2}
    amp = (0.004, 0.012)
    head_pitch = (0.0, 0.08)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        local = ctx.vec(ctx.u(-0.35, 0.35), -ctx.u(0.95, 1.12), -ctx.u(0.25, 0.8)) + contact_bias(ctx, s)
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


@register
class TouchHead(HandGesture):
    raw_id = 4
    duration = (1.2, 4.0)
    actions = {"scratch": 0.6, "rub": 0.2, "touch": 0.2}
    amp = (0.004, 0.018)
    reps_p = (0.6, 0.3, 0.1)
    head_pitch = (0.0, 0.14)
    head_roll = (-0.06, 0.06)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        local = ctx.vec(s * ctx.u(0.05, 0.8), -ctx.u(0.78, 1.05), ctx.u(-0.35, 0.6)) + contact_bias(ctx, s)
        return dict(
            p=ctx.head_point(local),
            d=ctx.jitter_dir(ctx.vec(-s * 0.55, -0.55, 0.35), 0.25),
            n=ctx.vec(-s * 0.4, 1.0, 0.0),
            k=ctx.u(0.75, 0.95),
            curl=ctx.u(0.25, 0.55),
            pole=ctx.jitter_dir(ctx.vec(s * 1.0, -0.15, 0.25), 0.2),
        )


@register
class TouchForehead(HandGesture):
    raw_id = 5
    duration = (1.0, 3.5)
    actions = {"scratch": 0.4, "rub": 0.2, "stroke": 0.25, "touch": 0.15}
    amp = (0.004, 0.015)
    reps_p = (0.7, 0.3)
    head_pitch = (0.02, 0.15)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        local = ctx.vec(ctx.u(-0.35, 0.35), -ctx.u(0.38, 0.68), -ctx.u(0.8, 0.95)) + contact_bias(ctx, s)
        return dict(
            p=ctx.head_point(local),
            d=ctx.jitter_dir(ctx.vec(-s * 0.8, -0.45, 0.25), 0.2),
            n=ctx.vec(0, 0.1, 1.0),
            k=ctx.u(0.75, 0.95),
            curl=ctx.u(0.15, 0.5),
            pole=ctx.jitter_dir(ctx.vec(s * 0.8, 0.5, -0.4), 0.2),
            t1=ctx.vec(1.0, 0, 0),
        )


@register
class CoverFace(HandGesture):
    raw_id = 6
    duration = (1.5, 4.0)
    actions = {"touch": 0.7, "rub": 0.3}
    amp = (0.003, 0.01)
    both_p = 0.8
    head_pitch = (0.1, 0.3)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        spread = np.where(ctx.p["both"], 1.0, 0.0)
        local = ctx.vec(s * ctx.u(0.2, 0.45) * spread, ctx.u(0.0, 0.35), -ctx.u(0.95, 1.1)) + contact_bias(ctx, s, 0.3)
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


@register
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
        local = ctx.vec(x, -ctx.u(0.05, 0.3), -ctx.u(0.92, 1.05)) + contact_bias(ctx, s, 0.3)
        return dict(
            p=ctx.head_point(local),
            d=ctx.jitter_dir(ctx.vec(-s * 0.35, -0.85, 0.35), 0.2),
            n=ctx.vec(0, 0, 1.0),
            k=ctx.u(0.6, 0.9),
            curl=ctx.u(0.4, 0.85),
            pole=ctx.vec(s * 0.6, 0.8, -0.3),
            occl=0.3,
        )


@register
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
            p=ctx.head_point(ctx.vec(x, y, z) + contact_bias(ctx, s)),
            d=ctx.jitter_dir(ctx.vec(-s * 0.4, -0.8, 0.3), 0.25),
            n=ctx.vec(0, 0, 1.0),
            k=ctx.u(0.8, 0.95),
            curl=ctx.u(0.2, 0.6),
            pole=ctx.jitter_dir(ctx.vec(s * 0.6, 0.8, -0.3), 0.2),
        )


@register
class TouchEars(HandGesture):
    raw_id = 9
    duration = (0.8, 3.0)
    actions = {"touch": 0.35, "rub": 0.35, "pull": 0.3}
    amp = (0.004, 0.012)
    head_roll = (0.0, 0.1)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        se = np.where(ctx.coin(0.85), s, -s)  # usually the ear on the hand's side
        local = ctx.vec(se * ctx.u(0.95, 1.08), ctx.u(-0.25, 0.2), ctx.u(-0.15, 0.2)) + contact_bias(ctx, s, 0.3)
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


@register
class BiteNails(HandGesture):
    raw_id = 10
    duration = (1.5, 4.0)
    actions = {"nibble": 0.7, "touch": 0.3}
    amp = (0.003, 0.008)
    head_pitch = (0.05, 0.2)

    def target(self, ctx, side, s, primary):  # type: ignore[no-untyped-def]
        local = ctx.vec(ctx.u(-0.12, 0.12), ctx.u(0.5, 0.62), -ctx.u(1.0, 1.12)) + contact_bias(ctx, s, 0.3)
        return dict(
            p=ctx.head_point(local),
            d=ctx.jitter_dir(ctx.vec(-s * 0.35, -0.7, 0.65), 0.15),
            n=ctx.vec(-s * 0.3, 0.0, 1.0),
            k=ctx.u(0.8, 0.95),
            curl=ctx.u(0.45, 0.75),
            pole=ctx.vec(s * 0.4, 1.0, -0.4),
        )


@register
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
            p=ctx.head_point(ctx.vec(x, y, z) + contact_bias(ctx, s)),
            d=ctx.jitter_dir(ctx.vec(-s * 0.3, -0.9, 0.1), 0.2),
            n=ctx.vec(-s * 0.3, -0.3, 1.0),
            k=np.where(rest, ctx.u(0.3, 0.5), ctx.u(0.8, 0.9)),
            curl=ctx.u(0.2, 0.6),
            pole=ctx.vec(s * 0.3, 1.0, -0.5),
            t1=ctx.vec(s * 0.8, -0.6, 0),
        )


@register
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


@register
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
        local = np.where(twirl[:, None], twirl_p, sweep_a) + contact_bias(ctx, s)
        p = ctx.head_point(local)
        along = ctx.head_point(sweep_b + contact_bias(ctx, s)) - ctx.head_point(sweep_a + contact_bias(ctx, s))
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
