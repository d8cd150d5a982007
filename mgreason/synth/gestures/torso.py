"""Hand-to-body gestures in the torso frame (collar, notch, back, arms, clothes, hips)."""

from __future__ import annotations

import numpy as np

from mgreason.synth.body import unit
from mgreason.synth.engine import Ctx, HandGesture, register


@register
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


@register
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


@register
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


@register
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


@register
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


@register
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


@register
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


@register
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


@register
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
