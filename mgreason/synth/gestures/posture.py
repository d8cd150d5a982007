"""Body, head and shoulder movements: the hands stay where they rest."""

from __future__ import annotations

import numpy as np

from mgreason.synth.engine import BodyMotion, Ctx, register


@register
class TurtleNeck(BodyMotion):
    raw_id = 1
    duration = (1.0, 3.0)

    def body(self, ctx: Ctx) -> None:
        e = (ctx.p["env"] * ctx.p["amp"][:, None])[..., None]
        ctx.ctl["shrug"] += e * ctx.u(0.015, 0.04)[:, None, None]
        ctx.ctl["head_off"] += e * ctx.vec(0, ctx.u(0.015, 0.04), -ctx.u(0.0, 0.03))[:, None, :]
        ctx.ctl["head_rot"][..., 0] += e[..., 0] * ctx.u(0.0, 0.1)[:, None]


@register
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


@register
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


@register
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


@register
class HeadUp(BodyMotion):
    raw_id = 28
    duration = (1.0, 3.5)

    def body(self, ctx: Ctx) -> None:
        e, amp = ctx.p["env"], ctx.p["amp"][:, None]
        ctx.ctl["head_rot"][..., 0] -= e * amp * ctx.u(0.15, 0.4)[:, None]
        ctx.ctl["head_rot"][..., 1] += e * ctx.u(-0.1, 0.1)[:, None]
        ctx.ctl["head_off"] += (e * amp)[..., None] * ctx.vec(0, -ctx.u(0, 0.01), ctx.u(0, 0.02))[:, None, :]
        ctx.ctl["torso_rot"][..., 0] -= e * ctx.u(0.0, 0.04)[:, None]


@register
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
