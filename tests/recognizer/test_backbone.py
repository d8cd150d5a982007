"""Graph, backbone presets, streams and the fully convolutional (any-length) property."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mgreason.recognizer.backbone import PRESETS, STGCNBackbone
from mgreason.recognizer.config import ModelConfig
from mgreason.recognizer.graph import bone_parents, hop_distance, spatial_subsets
from mgreason.recognizer.model import STREAM_PRIOR, arch_from_config, build_model
from mgreason.recognizer.preprocessing import build_streams, uniform_indices
from mgreason.skeleton.layouts import LAYOUTS, get_layout


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_spatial_subsets_every_layout(layout):
    A = spatial_subsets(layout)
    V = get_layout(layout).num_joints
    assert A.shape == (3, V, V)
    assert np.all(A >= 0)
    # each joint averages over itself and its neighbours: the columns of the summed subsets sum to 1
    np.testing.assert_allclose(A.sum(axis=(0, 1)), np.ones(V), atol=1e-6)
    assert np.all(np.diagonal(A[0]) > 0)


def test_inward_outward_imigue22():
    lay = get_layout("imigue22")
    A = spatial_subsets(lay)
    d = hop_distance(lay)
    assert d[lay.index("neck")] == 0
    elbow, wrist = lay.index("right_elbow"), lay.index("right_wrist")
    # A[k, v, w]: joint v's contribution to joint w. For the wrist, the elbow is the centripetal
    # neighbour (subset 1, "inward" as in PYSKL); for the elbow, the wrist is centrifugal (subset 2)
    assert A[1, elbow, wrist] > 0 and A[2, elbow, wrist] == 0
    assert A[2, wrist, elbow] > 0 and A[1, wrist, elbow] == 0
    p = bone_parents(lay)
    assert p[wrist] == elbow and p[lay.index("neck")] == lay.index("neck")


def _count(m):
    return sum(p.numel() for p in m.parameters())


def test_presets_sizes():
    A = spatial_subsets("imigue22")
    base = _count(STGCNBackbone(3, A, "base"))
    tiny = _count(STGCNBackbone(3, A, "tiny"))
    assert 1.3e6 < base < 1.5e6, base  # PYSKL ST-GCN++ is about 1.4 M
    assert tiny < 0.25e6, tiny
    assert PRESETS["base"].channels() == [64] * 4 + [128] * 3 + [256] * 3
    assert PRESETS["base"].temporal_stride == 4 and PRESETS["tiny"].temporal_stride == 4


@pytest.mark.parametrize("T", [1, 7, 33, 130])
def test_backbone_any_length(T):
    torch.manual_seed(0)
    m = STGCNBackbone(3, spatial_subsets("imigue22"), "tiny").eval()
    with torch.no_grad():
        y = m(torch.randn(2, 3, T, 22))
    assert y.shape == (2, 96, -(-T // 4), 22)


def _model(**kw):
    mc = ModelConfig(**kw)
    return build_model(arch_from_config(mc, "imigue22", 5, 2)).eval()


def test_dense_outputs_any_length_and_match_clip_for_plain_head():
    torch.manual_seed(0)
    m = _model(fusion={"mode": "none"})
    x = torch.randn(2, m.in_channels, 40, 22)
    with torch.no_grad():
        clip = m(x).logits
        dense = m.dense(x, upsample=False).logits
        up = m.dense(x)
        long = m.dense(torch.randn(1, m.in_channels, 257, 22))
    # the classifier is linear, so the time average of the per-step logits is the clip logit
    torch.testing.assert_close(dense.mean(-1), clip, atol=1e-5, rtol=1e-5)
    assert up.logits.shape == (2, 5, 40) and up.features.shape[-1] == 40
    assert long.logits.shape == (1, 5, 257)


def test_persons_dimension_and_channel_check():
    torch.manual_seed(0)
    m = _model()
    x = torch.randn(3, m.in_channels, 24, 22, 2)
    with torch.no_grad():
        assert m(x).logits.shape == (3, 5)
    with pytest.raises(ValueError):
        m(torch.randn(1, m.in_channels + 1, 24, 22))


def test_late_stream_fusion_prior():
    m = _model(stream_fusion="late", streams=["joint", "bone", "motion"])
    w = m.stream_weights().detach().numpy()
    prior = np.array([STREAM_PRIOR[s] for s in ("joint", "bone", "motion")])
    np.testing.assert_allclose(w, prior / prior.sum(), atol=1e-6)
    x = torch.randn(2, m.in_channels, 16, 22)
    out = m.train()(x)
    parts = m.losses(out, torch.tensor([0, 1]))
    assert "ce" in parts and "joint.ce" in parts and "motion.aux" in parts


def test_streams():
    rng = np.random.default_rng(0)
    T, V = 10, 22
    x = rng.normal(size=(T, V, 2)).astype(np.float32)
    c = np.ones((T, V), np.float32)
    c[3, 4] = 0
    s = build_streams(x, c, "imigue22", ["joint", "bone", "motion", "bone_motion"], use_confidence=True)
    assert s.shape == (12, T, V)
    lay = get_layout("imigue22")
    neck = lay.index("neck")
    np.testing.assert_allclose(s[0:2].transpose(1, 2, 0), x)
    assert np.all(s[3:5, :, neck] == 0)  # the centre's bone is zero
    np.testing.assert_allclose(s[6:8, :-1].transpose(1, 2, 0), x[1:] - x[:-1], rtol=1e-5, atol=1e-6)
    assert np.all(s[6:8, -1] == 0)
    assert s[8, 2, 4] == 0 and s[8, 3, 4] == 0  # motion confidence: min of the two frames
    s2 = build_streams(x, c, "imigue22", ["joint"], use_confidence=False)
    assert s2.shape == (2, T, V)


def test_uniform_indices():
    idx = uniform_indices(100, 10)
    assert len(idx) == 10 and np.all(np.diff(idx) > 0) and idx[0] < 10 and idx[-1] >= 90
    short = uniform_indices(3, 8)
    assert short.min() == 0 and short.max() == 2 and np.all(np.diff(short) >= 0)
    r = uniform_indices(50, 5, np.random.default_rng(1))
    assert np.all((r >= np.arange(5) * 10) & (r < np.arange(1, 6) * 10))
