"""Every MG-aware augmentation is label-preserving on generator clips: the gesture core survives.

The core of a hand-to-body gesture (rubbing eyes, touching the forehead / jaw / neck) is the contact
phase: the hand's distance to its target joint drops to a minimum and stays there. Each augmentation
must keep that minimum (up to its own scale change) and keep some frames of contact.
"""

from __future__ import annotations

import numpy as np
import pytest

from mgreason.recognizer.augment import (
    BodyPartMask,
    Clip,
    Compose,
    Flip,
    Jitter,
    MotionCrop,
    Posterize,
    RepeatCrop,
    Rotate,
    Scale,
    Shear,
    Speed,
    body_part_groups,
    build_augmentations,
    estimate_period,
    flip_label_map,
    motion_energy,
)
from mgreason.recognizer.config import AugmentConfig
from mgreason.skeleton.layouts import get_layout

LAY = get_layout("imigue22")
HAND = {side: LAY.indices([f"{side}_wrist"] + [f"{side}_{f}_tip" for f in ("thumb", "index", "middle", "ring", "pinky")])
        for side in ("left", "right")}  # fmt: skip
TARGETS = {5: ["nose", "left_eye", "right_eye"], 7: ["left_eye", "right_eye"], 11: ["nose"], 12: ["neck"]}


def hand_distance(clip: Clip, side: str, raw: int) -> np.ndarray:
    """(T,) smallest distance between the hand's joints and the gesture's target joints."""
    tgt = LAY.indices(TARGETS[raw])
    d = np.linalg.norm(clip.coords[:, HAND[side]][:, :, None] - clip.coords[:, tgt][:, None], axis=-1)
    return d.min(axis=(1, 2))


def contact(clip: Clip) -> tuple[str, np.ndarray]:
    raw = clip.meta["raw"]
    prof = {s: hand_distance(clip, s, raw) for s in ("left", "right")}
    side = min(prof, key=lambda s: prof[s].min())
    return side, prof[side]


SPATIAL = [
    ("rotate", Rotate(10.0), 1.0),
    ("scale", Scale(0.9, 1.1, 0.05), 1.16),
    ("shear", Shear(0.1), 1.15),
    ("jitter", Jitter(0.005), 1.0),
]
TEMPORAL = [
    ("speed", Speed(0.8, 1.25)),
    ("motion_crop", MotionCrop(0.6, 0.8)),
    ("repeat_crop", RepeatCrop()),
    ("posterize", Posterize(3)),
]


def _reach(clip: Clip) -> float:
    side, d = contact(clip)
    return float(np.percentile(d, 95) - d.min())


def test_generator_contact_clips_have_a_contact_phase(contact_clips):
    # sanity of the premise: the hand comes much closer to the target than it starts / ends
    reached = [(_reach(c) > 0.3) for c in contact_clips]
    assert np.mean(reached) >= 0.75


@pytest.mark.parametrize("name,aug,factor", SPATIAL, ids=[s[0] for s in SPATIAL])
def test_spatial_augmentations_keep_the_contact(contact_clips, name, aug, factor):
    for k, clip in enumerate(contact_clips):
        if _reach(clip) <= 0.3:
            continue
        rng = np.random.default_rng(k)
        before = clip.coords.copy()
        out = aug(clip, rng)
        np.testing.assert_array_equal(clip.coords, before)  # input untouched
        assert out.coords.shape == clip.coords.shape and np.all(np.isfinite(out.coords))
        assert out.label == clip.label
        side, d0 = contact(clip)
        d1 = hand_distance(out, side, clip.meta["raw"])
        # the minimum (contact) stays a minimum, at the same moment, and stays close
        assert d1.min() <= d0.min() * factor + 0.03
        assert abs(int(np.argmin(d1)) - int(np.argmin(d0))) <= 3 or d1[np.argmin(d0)] <= d0.min() * factor + 0.03
        if name == "rotate":  # an isometry: the whole profile is unchanged
            np.testing.assert_allclose(d1, d0, atol=1e-4)


@pytest.mark.parametrize("name,aug", TEMPORAL, ids=[t[0] for t in TEMPORAL])
def test_temporal_augmentations_keep_the_contact_phase(contact_clips, name, aug):
    for k, clip in enumerate(contact_clips):
        if _reach(clip) <= 0.3:
            continue
        for rep in range(3):
            out = aug(clip, np.random.default_rng([k, rep]))
            assert out.label == clip.label and out.coords.shape[1:] == clip.coords.shape[1:]
            assert out.coords.shape[0] >= 2 and np.all(np.isfinite(out.coords))
            side, d0 = contact(clip)
            d1 = hand_distance(out, side, clip.meta["raw"])
            reach = np.percentile(d0, 95) - d0.min()
            # the hand still gets as close (within 10 % of its reach: the rubbing / scratching at the
            # contact point makes the distance wobble) and stays close for several frames
            assert d1.min() <= d0.min() + 0.1 * reach, name
            assert (d1 <= d0.min() + 0.25 * reach).sum() >= 2, name


def test_speed_changes_length_within_bounds(contact_clips):
    clip = contact_clips[0]
    T = clip.num_frames
    for s in range(10):
        n = Speed(0.8, 1.25)(clip, np.random.default_rng(s)).num_frames
        assert T / 1.25 - 1 <= n <= T / 0.8 + 1


def test_motion_crop_keeps_most_motion_energy(noisy_clips, contact_clips):
    for k, clip in enumerate(noisy_clips + contact_clips):
        e = motion_energy(clip.coords, clip.conf)
        for rep in range(3):
            out = MotionCrop(0.5, 0.8)(clip, np.random.default_rng([k, rep]))
            assert out.num_frames <= clip.num_frames
            # the crop is a contiguous window of the clip holding >= 80 % of the clip's motion energy
            T = out.num_frames
            starts = [s for s in range(clip.num_frames - T + 1) if np.array_equal(clip.coords[s : s + T], out.coords)]
            assert starts
            assert max(e[s : s + T].sum() for s in starts) >= 0.8 * e.sum() - 1e-6


def test_posterize_holds_frames(noisy_clips):
    clip = noisy_clips[0]
    out = Posterize(3)(clip, np.random.default_rng(1))
    assert out.num_frames == clip.num_frames
    # every output frame is an input frame at or before its own time, repeated in runs of <= 3
    for t in range(out.num_frames):
        src = [s for s in range(max(0, t - 2), t + 1) if np.array_equal(out.coords[t], clip.coords[s])]
        assert src
    changes = np.flatnonzero(np.any(np.diff(out.coords, axis=0) != 0, axis=(1, 2)))
    assert len(changes) < clip.num_frames - 1


def _with_oscillation(clip: Clip, period: int, amp: float = 0.08) -> Clip:
    """Add a known oscillation to the right hand during the whole clip (a scratching hand)."""
    c = clip.coords.copy()
    t = np.arange(clip.num_frames)
    c[:, HAND["right"], 0] += amp * np.sin(2 * np.pi * t / period)[:, None]
    return clip.with_(coords=c)


def test_repeat_crop_keeps_whole_cycles(noisy_clips):
    base = max(noisy_clips, key=lambda c: c.num_frames)
    for period in (8, 12):
        clip = _with_oscillation(base, period)
        p, peak = estimate_period(clip.coords, clip.conf)
        assert p is not None and abs(p - period) <= 1 and peak >= RepeatCrop().min_periodicity
        rc = RepeatCrop(min_cycles=1.0, tile_p=0.5)
        for s in range(8):
            out = rc(clip, np.random.default_rng(s))
            assert out.meta.get("period") is not None and abs(out.meta["period"] - period) <= 1
            assert out.num_frames >= out.meta["period"]  # at least one full cycle
            p2, _ = estimate_period(out.coords, out.conf)
            if out.num_frames >= 2 * period + 4:
                assert p2 is not None and abs(p2 - period) <= 1
            assert out.label == clip.label


def test_repeat_crop_leaves_non_periodic_clips_alone():
    T, V = 60, LAY.num_joints
    coords = np.zeros((T, V, 2), np.float32)
    coords[:, LAY.index("right_wrist"), 1] = np.linspace(0, -1, T)  # one smooth reach, no repetition
    clip = Clip(coords, np.ones((T, V), np.float32), 3)
    out = RepeatCrop()(clip, np.random.default_rng(0))
    assert out is clip


def test_flip_swaps_joints_and_lateral_labels(contact_clips):
    names = ["touch left ear", "touch right ear", "nod", "raise_left_hand", "raise_right_hand"]
    lm = flip_label_map(names)
    assert lm == [1, 0, 2, 4, 3]
    clip = next(c for c in contact_clips if _reach(c) > 0.3)
    side, d0 = contact(clip)
    flip = Flip("imigue22", lm)
    out = flip(clip.with_(label=0, meta=dict(clip.meta, hand=f"{side}")), np.random.default_rng(0))
    assert out.label == 1 and out.meta["hand"] == ("right" if side == "left" else "left")
    # the mirrored hand now has exactly the original hand's distance profile
    other = "right" if side == "left" else "left"
    np.testing.assert_allclose(hand_distance(out, other, clip.meta["raw"]), d0, atol=1e-5)
    li, ri = LAY.index("left_wrist"), LAY.index("right_wrist")
    np.testing.assert_allclose(out.coords[:, li, 0], -clip.coords[:, ri, 0])
    np.testing.assert_allclose(out.coords[:, li, 1], clip.coords[:, ri, 1])
    back = flip(out, np.random.default_rng(0))
    np.testing.assert_allclose(back.coords, clip.coords)
    assert back.label == 0
    # unlateralised classes (all iMiGUE classes) keep their label
    from mgreason.taxonomy import IMIGUE

    assert flip_label_map(IMIGUE.names) == list(range(len(IMIGUE.names)))


def test_mask_never_hides_hands_or_the_touched_part(contact_clips):
    mask = BodyPartMask("imigue22", max_parts=2)
    groups = body_part_groups("imigue22")
    hands = set(groups["left_hand"] + groups["right_hand"])
    assert set(groups) >= {"head", "torso", "left_arm", "right_arm", "left_hand", "right_hand"}
    for k, clip in enumerate(contact_clips):
        if _reach(clip) <= 0.3:
            continue
        cand = mask.candidates(clip)
        assert "left_hand" not in cand and "right_hand" not in cand
        target_part = "head" if clip.meta["raw"] in (5, 7, 11) else "torso"
        assert target_part not in cand
        for s in range(4):
            out = mask(clip, np.random.default_rng([k, s]))
            hidden = set(np.flatnonzero((out.conf == 0).all(axis=0) & (clip.conf > 0).any(axis=0)))
            assert not (hidden & hands)
            side, d0 = contact(clip)
            np.testing.assert_allclose(hand_distance(out, side, clip.meta["raw"]), d0, atol=1e-6)
            assert np.all(np.isfinite(out.coords))


def test_jitter_is_well_below_gesture_amplitude(contact_clips):
    cfg = AugmentConfig()
    reaches = [_reach(c) for c in contact_clips]
    assert cfg.jitter.sigma * 20 < np.median(reaches)
    clip = contact_clips[0]
    out = Jitter(0.005)(clip, np.random.default_rng(0))
    diff = (out.coords - clip.coords)[clip.conf > 0]
    assert 0.003 < diff.std() < 0.007


def test_build_augmentations_from_config(noisy_clips):
    cfg = AugmentConfig.model_validate({"rotate": {"p": 1.0}, "flip": {"p": 1.0}, "speed": {"p": 1.0}})
    temporal, spatial = build_augmentations(cfg, "imigue22", ["a", "b"])
    assert temporal.names == ["speed"] and spatial.names == ["rotate", "flip"]
    assert AugmentConfig().enabled() == []
    off = Compose([("rotate", 0.0, Rotate(45))])
    clip = noisy_clips[0]
    assert off(clip, np.random.default_rng(0)) is clip
    out = spatial(temporal(clip, np.random.default_rng(0)), np.random.default_rng(1))
    assert np.all(np.isfinite(out.coords)) and out.coords.shape[1:] == clip.coords.shape[1:]
