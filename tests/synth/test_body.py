import numpy as np
import pytest

from mgreason.synth.body import (
    Controls,
    head_points,
    rig,
    rot_matrix,
    sample_bodies,
    sample_styles,
    to_torso,
    to_world,
    torso_transform,
    two_bone_ik,
)
from mgreason.synth.idle import idle_controls, rest_to_torso, smooth_noise


@pytest.fixture
def setup():
    rng = np.random.default_rng(5)
    n, T = 6, 40
    body, style = sample_bodies(rng, n), sample_styles(rng, n)
    ctl, rest = idle_controls(rng, body, style, T, 25.0)
    rest_to_torso(body, ctl, rest)
    return rng, body, style, ctl, rest


def test_rotation_matrices_are_rotations():
    rng = np.random.default_rng(0)
    R = rot_matrix(*rng.uniform(-1, 1, (3, 50)))
    np.testing.assert_allclose(R @ np.swapaxes(R, -1, -2), np.broadcast_to(np.eye(3), R.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0)
    # conventions: pitch > 0 tips the front (-Z) down (+Y); yaw > 0 turns the front towards -X
    front = np.array([0, 0, -1.0])
    assert (rot_matrix(0.3, 0.0, 0.0) @ front)[1] > 0
    assert (rot_matrix(0.0, 0.3, 0.0) @ front)[0] < 0


def test_two_bone_ik_keeps_bone_lengths_and_reaches():
    rng = np.random.default_rng(1)
    S = rng.normal(0, 0.1, (100, 3))
    W = S + rng.normal(0, 0.4, (100, 3))
    a, b = np.full(100, 0.3), np.full(100, 0.25)
    E, W2 = two_bone_ik(S, W, a, b, rng.normal(size=(100, 3)))
    np.testing.assert_allclose(np.linalg.norm(E - S, axis=-1), 0.3, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(W2 - E, axis=-1), 0.25, atol=1e-9)
    reach = np.linalg.norm(W - S, axis=-1)
    ok = (reach < 0.54) & (reach > 0.08)
    np.testing.assert_allclose(W2[ok], W[ok], atol=1e-9)  # reachable targets are met exactly


def test_rig_bones_constant_over_time(setup):
    rng, body, style, ctl, rest = setup
    ctl["hand_p"] += rng.normal(0, 0.1, ctl["hand_p"].shape)  # arbitrary hand targets
    ctl["head_rot"] += rng.normal(0, 0.2, ctl["head_rot"].shape)
    J = rig(body, ctl)
    assert J.shape == (6, 40, 22, 3) and np.isfinite(J).all()
    for s, e, w in ((2, 3, 4), (5, 6, 7)):
        upper = np.linalg.norm(J[:, :, e] - J[:, :, s], axis=-1)
        fore = np.linalg.norm(J[:, :, w] - J[:, :, e], axis=-1)
        np.testing.assert_allclose(upper, np.broadcast_to(body.upper_arm[:, None], upper.shape), rtol=1e-6)
        np.testing.assert_allclose(fore, np.broadcast_to(body.forearm[:, None], fore.shape), rtol=1e-6)
    # eyes stay a fixed distance apart whatever the head does
    eye = np.linalg.norm(J[:, :, 8] - J[:, :, 9], axis=-1)
    np.testing.assert_allclose(eye, np.broadcast_to(eye[:, :1], eye.shape), rtol=1e-6)


def test_resting_hands_stay_on_the_table_when_the_torso_moves(setup):
    rng, body, style, ctl, rest = setup
    ctl["torso_pos"][:, 20:, 2] -= 0.08  # lean towards the table
    ctl["torso_rot"][:, 20:, 0] += 0.15
    rest_to_torso(body, ctl, rest)
    R, pivot = torso_transform(body, ctl)
    world = to_world(ctl["hand_p"], R, pivot, ctl["torso_pos"])
    np.testing.assert_allclose(world, rest["hand_p"], atol=1e-9)
    back = to_torso(world, R, pivot, ctl["torso_pos"])
    np.testing.assert_allclose(back, ctl["hand_p"], atol=1e-9)


def test_head_points_follow_head_rotation(setup):
    rng, body, style, ctl, rest = setup
    top = np.array([0.0, -1.0, 0.0])
    before = head_points(body, ctl, top)
    ctl2 = Controls({k: v.copy() for k, v in ctl.items()})
    ctl2["head_rot"][..., 0] -= 0.4  # chin up: the top of the head moves back (+Z)
    after = head_points(body, ctl2, top)
    assert np.all(after[..., 2] > before[..., 2])


def test_smooth_noise_unit_variance_and_correlated():
    x = smooth_noise(np.random.default_rng(0), (400, 200, 2), 8.0)
    assert x.std() == pytest.approx(1.0, abs=0.05)
    lag1 = np.mean(x[:, 1:] * x[:, :-1])
    lag40 = np.mean(x[:, 40:] * x[:, :-40])
    assert lag1 > 0.9 and abs(lag40) < 0.1
