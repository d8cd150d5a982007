"""One plain-language verdict per paired comparison, every number it rests on printed beside it.

The rules, in order (α = 0.05):

1. ``constant``: the treatment answers one label on >= 95% of the items; it cannot be following the evidence.
2. ``used``: the treatment is better, significantly: Δ accuracy > 0 with McNemar p (Holm-adjusted when known)
   < α, or the gold-margin shift's paired CI is above 0.
3. ``worse``: the treatment is worse, significantly (the same tests the other way).
4. ``not_used``: the evidence carries signal, the evidence-only ceiling's Wilson CI lies above the majority
   class's accuracy, but the model's answers do not follow it.
5. ``no_signal``: the ceiling's CI reaches down to the majority class: little to gain from the evidence.
6. ``unknown``: no ceiling (skipped or no evidence) and no significant change.

A treatment that is a control (another item's transcript, ``transcript: shuffled``) gets ``control_ok`` (no
significant change, as expected) or ``control_changes`` (it changes the answers: the model reacts to evidence
being present, not to what it says) after rule 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from mgreason.eval.format import fmt, fmt_p, fmt_signed, is_missing

ALPHA = 0.05


@dataclass
class VerdictInput:
    baseline: str
    treatment: str
    delta_acc: Optional[float] = None
    p: Optional[float] = None  # McNemar p (Holm-adjusted when known)
    p_name: str = "p"
    margin_shift: Optional[float] = None
    margin_shift_ci: tuple[Optional[float], Optional[float]] = (None, None)
    auc_treatment: Optional[float] = None
    ceiling_acc: Optional[float] = None  # the evidence-only classifier
    ceiling_ci: tuple[Optional[float], Optional[float]] = (None, None)
    majority_acc: Optional[float] = None
    constant_label: Optional[str] = None  # the treatment's top label when its share >= 95%
    constant_share: Optional[float] = None
    treatment_is_control: bool = False  # the treatment shows another item's transcript


@dataclass
class Verdict:
    code: str  # constant | control_ok | control_changes | used | worse | not_used | no_signal | unknown
    text: str


def evidence_signal(v: VerdictInput) -> Optional[bool]:
    """True: the ceiling's CI lies above the majority class; False: it does not; None: no ceiling."""
    if is_missing(v.ceiling_acc) or is_missing(v.ceiling_ci[0]) or is_missing(v.majority_acc):
        return None
    return v.ceiling_ci[0] > v.majority_acc  # type: ignore[operator]


def _sig(p: Optional[float]) -> bool:
    return not is_missing(p) and p < ALPHA  # type: ignore[operator]


def _ceiling_txt(v: VerdictInput) -> str:
    return f"ceiling {fmt(v.ceiling_acc, 2)} [{fmt(v.ceiling_ci[0], 2)}, {fmt(v.ceiling_ci[1], 2)}]"


def _change_txt(v: VerdictInput) -> str:
    parts = [f"Δ {fmt_signed(v.delta_acc, 2)}", f"{v.p_name} {fmt_p(v.p)}"]
    if not is_missing(v.margin_shift):
        parts.append(
            f"margin shift {fmt_signed(v.margin_shift, 2)} [{fmt_signed(v.margin_shift_ci[0], 2)}, "
            f"{fmt_signed(v.margin_shift_ci[1], 2)}]"
        )
    if not is_missing(v.auc_treatment):
        parts.append(f"margin AUC {fmt(v.auc_treatment, 2)}")
    return ", ".join(parts)


def verdict(v: VerdictInput) -> Verdict:
    head = f"{v.baseline} → {v.treatment}: "
    signal = evidence_signal(v)
    up = (_sig(v.p) and (v.delta_acc or 0) > 0) or (
        not is_missing(v.margin_shift_ci[0]) and v.margin_shift_ci[0] > 0  # type: ignore[operator]
    )
    down = (_sig(v.p) and (v.delta_acc or 0) < 0) or (
        not is_missing(v.margin_shift_ci[1]) and v.margin_shift_ci[1] < 0  # type: ignore[operator]
    )
    signal_txt = {
        True: f"; the evidence carries signal ({_ceiling_txt(v)})",
        False: f"; the evidence carries little signal ({_ceiling_txt(v)} ≈ majority class {fmt(v.majority_acc, 2)})",
        None: "",
    }[signal]
    if v.constant_label is not None:
        return Verdict(
            "constant",
            head + f"the model answers '{v.constant_label}' to {fmt(v.constant_share, 2)} of the items, so its "
            f"answers cannot follow the evidence ({_change_txt(v)}){signal_txt}",
        )
    if v.treatment_is_control:
        if up or down:
            return Verdict(
                "control_changes",
                head + f"another item's transcript changes the answers ({_change_txt(v)}): the model reacts to "
                "evidence being there, not to what it says",
            )
        return Verdict(
            "control_ok", head + f"another item's transcript changes nothing significant ({_change_txt(v)}), as expected"
        )
    if up and not down:
        tail = (
            f"; the ceiling is near the majority class ({_ceiling_txt(v)} vs {fmt(v.majority_acc, 2)})"
            if signal is False
            else (f" ({_ceiling_txt(v)})" if signal else "")
        )
        return Verdict("used", head + f"the model uses the evidence ({_change_txt(v)}){tail}")
    if down and not up:
        return Verdict("worse", head + f"the treatment makes the model's answers worse ({_change_txt(v)}){signal_txt}")
    if signal is True:
        return Verdict(
            "not_used",
            head + f"the evidence carries signal ({_ceiling_txt(v)}) but the model's answers do not follow it "
            f"({_change_txt(v)})",
        )
    if signal is False:
        return Verdict(
            "no_signal",
            head + f"the evidence carries little signal ({_ceiling_txt(v)} ≈ majority class {fmt(v.majority_acc, 2)}); "
            f"no change is expected and none is seen ({_change_txt(v)})",
        )
    return Verdict(
        "unknown", head + f"no significant change ({_change_txt(v)}); no evidence ceiling to compare with"
    )


__all__ = ["ALPHA", "Verdict", "VerdictInput", "evidence_signal", "verdict"]
