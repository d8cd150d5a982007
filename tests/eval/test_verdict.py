"""The verdict per comparison (mgreason.eval.verdict), on constructed cases."""

from mgreason.eval.verdict import VerdictInput, evidence_signal, verdict

SIGNAL = dict(ceiling_acc=0.75, ceiling_ci=(0.66, 0.82), majority_acc=0.5)
NO_SIGNAL = dict(ceiling_acc=0.52, ceiling_ci=(0.42, 0.62), majority_acc=0.5)


def test_signal_but_the_model_does_not_follow():
    v = verdict(VerdictInput("without_mg", "with_mg", delta_acc=0.01, p=0.9, auc_treatment=0.45, **SIGNAL))
    assert v.code == "not_used"
    assert "carries signal (ceiling 0.75 [0.66, 0.82])" in v.text and "do not follow it" in v.text
    assert "Δ +0.01" in v.text and "margin AUC 0.45" in v.text


def test_little_signal():
    v = verdict(VerdictInput("without_mg", "with_mg", delta_acc=0.0, p=1.0, **NO_SIGNAL))
    assert v.code == "no_signal" and "≈ majority class 0.50" in v.text and "ceiling 0.52 [0.42, 0.62]" in v.text
    assert evidence_signal(VerdictInput("a", "b", **NO_SIGNAL)) is False
    assert evidence_signal(VerdictInput("a", "b")) is None


def test_constant_model():
    v = verdict(
        VerdictInput("without_mg", "with_mg", delta_acc=0.0, p=1.0, constant_label="deceptive", constant_share=1.0, **SIGNAL)
    )
    assert v.code == "constant" and "'deceptive' to 1.00 of the items" in v.text and "carries signal" in v.text


def test_model_that_follows_the_evidence():
    v = verdict(
        VerdictInput("without_mg", "with_mg", delta_acc=0.12, p=0.003, margin_shift=0.8, margin_shift_ci=(0.3, 1.2), **SIGNAL)
    )
    assert v.code == "used" and "uses the evidence (Δ +0.12, p 0.003, margin shift +0.80 [+0.30, +1.20]" in v.text
    # a margin that moves toward gold counts even when too few answers flip for McNemar
    v = verdict(VerdictInput("a", "b", delta_acc=0.02, p=0.6, margin_shift=0.5, margin_shift_ci=(0.1, 0.9)))
    assert v.code == "used"


def test_worse_and_controls_and_unknown():
    assert verdict(VerdictInput("a", "b", delta_acc=-0.2, p=0.01, **SIGNAL)).code == "worse"
    assert verdict(VerdictInput("a", "shuffled", delta_acc=-0.2, p=0.01, treatment_is_control=True)).code == "control_changes"
    assert verdict(VerdictInput("a", "shuffled", delta_acc=0.0, p=1.0, treatment_is_control=True)).code == "control_ok"
    v = verdict(VerdictInput("a", "b", delta_acc=0.0, p=1.0))
    assert v.code == "unknown" and "no evidence ceiling" in v.text
    assert verdict(VerdictInput("a", "b", p=None)).text.startswith("a → b: ")
