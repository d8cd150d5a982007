"""The spatio-temporal balanced fusion plug-in: ½–½ start, balancing losses, switchable, any layout."""

from __future__ import annotations

import pytest
import torch

from mgreason.recognizer.config import ModelConfig
from mgreason.recognizer.fusion import FusionHead, FusionSpec, gate_balance_kl
from mgreason.recognizer.graph import normalized_adjacency
from mgreason.recognizer.model import arch_from_config, build_model
from mgreason.skeleton.layouts import LAYOUTS, get_layout


def _head(mode="gate", **kw):
    torch.manual_seed(0)
    return FusionHead(32, 6, normalized_adjacency("imigue22"), FusionSpec(mode=mode, **kw))


@pytest.mark.parametrize("gate", ["sample", "channel"])
def test_gate_starts_half_half(gate):
    head = _head(gate=gate).eval()
    f = torch.randn(4, 32, 12, 22) * 3
    out = head(f)
    torch.testing.assert_close(out.gate, torch.full((4, 2), 0.5))
    dense = head.dense(f)
    torch.testing.assert_close(dense.gate, torch.full((4, 2, 12), 0.5))
    # at the start z is exactly the average of the two branches (gamma * GAP starts at 0)
    s = head.spatial(f.mean(2))
    h, _ = head.temporal.sequence(f)
    t = head.temporal.pool(h)
    torch.testing.assert_close(out.features, 0.5 * (s + t))


def test_balance_penalty():
    assert float(gate_balance_kl(torch.full((8, 2), 0.5))) == pytest.approx(0.0, abs=1e-7)
    skew = torch.tensor([[0.9, 0.1]] * 8)
    assert float(gate_balance_kl(skew)) > 0.3
    # the mean over the batch is what counts: opposite per-sample preferences are balanced
    mixed = torch.tensor([[0.9, 0.1], [0.1, 0.9]] * 4)
    assert float(gate_balance_kl(mixed)) == pytest.approx(0.0, abs=1e-6)


def test_losses_and_gradients_reach_both_branches():
    head = _head(aux_weight=0.3, balance_weight=0.1).train()
    f = torch.randn(6, 32, 10, 22, requires_grad=True)
    y = torch.tensor([0, 1, 2, 3, 4, 5])
    out = head(f)
    parts = head.losses(out, y)
    assert set(parts) == {"ce", "aux", "balance"}
    sum(parts.values()).backward()
    assert head.spatial.mix.weight.grad.abs().sum() > 0
    assert head.temporal.proj.weight.grad.abs().sum() > 0
    assert head.aux_s.weight.grad.abs().sum() > 0 and head.aux_t.weight.grad.abs().sum() > 0
    # the gate's zero-initialised last layer gets a gradient, so the gate can move away from ½–½
    assert head.gate_mlp[-1].weight.grad.abs().sum() > 0
    no_aux = _head(aux_weight=0.0, balance_weight=0.0)
    assert set(no_aux.losses(no_aux(f), y)) == {"ce"}


def test_switchable_off_and_variants():
    plain = _head("none")
    assert not hasattr(plain, "spatial") and not hasattr(plain, "gate_mlp")
    f = torch.randn(2, 32, 9, 22)
    assert plain(f).gate is None and plain(f).logits.shape == (2, 6)
    cat = _head("concat")
    assert cat(f).features.shape == (2, 64) and cat(f).gate is None
    fixed = _head("fixed")
    torch.testing.assert_close(fixed(f).gate, torch.full((2, 2), 0.5))
    with pytest.raises(ValueError):
        _head("bogus")
    n_plain = sum(p.numel() for p in plain.parameters())
    n_gate = sum(p.numel() for p in _head("gate").parameters())
    assert n_gate > n_plain


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_fusion_every_layout(layout):
    torch.manual_seed(0)
    lay = get_layout(layout)
    mc = ModelConfig(base_channels=8, num_blocks=2, inflate_blocks=[2], down_blocks=[2], fusion={"mode": "gate"})
    m = build_model(arch_from_config(mc, layout, 4, lay.dims))
    x = torch.randn(2, m.in_channels, 12, lay.num_joints)
    out = m(x)
    assert out.logits.shape == (2, 4) and out.gate.shape == (2, 2)
    assert m.dense(x).logits.shape == (2, 4, 12)


def test_motion_weights_prefer_the_moving_joint():
    head = _head()
    f = torch.zeros(1, 32, 20, 22)
    f[0, :, :, 7] = torch.sin(torch.arange(20.0))[None, :]  # only joint 7 moves
    w = head.temporal.motion_weights(f)
    assert w.shape == (1, 20, 22)
    torch.testing.assert_close(w.sum(-1), torch.ones(1, 20))
    assert bool((w[0].argmax(-1) == 7).all())


def test_gate_logged_per_class():
    from mgreason.recognizer.train import evaluate

    torch.manual_seed(0)
    mc = ModelConfig(base_channels=8, num_blocks=2, inflate_blocks=[2], down_blocks=[2])
    m = build_model(arch_from_config(mc, "imigue22", 3, 2))
    xs = torch.randn(6, m.in_channels, 16, 22)
    ys = torch.tensor([0, 0, 1, 1, 2, 2])
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xs, ys), batch_size=4)
    ev = evaluate(m, loader, ["a", "b", "c"], torch.device("cpu"))
    assert set(ev.gate_per_class) == {"a", "b", "c"}
    for g in ev.gate_per_class.values():
        assert len(g) == 2 and abs(sum(g) - 1) < 1e-3
    assert len(ev.confusion) == 3 and sum(map(sum, ev.confusion)) == 6


def test_gate_collapse_is_detected():
    from mgreason.recognizer.fusion import gate_collapse_warning, gate_spread

    healthy = {"turtling neck": [0.20, 0.80], "touching hat": [0.54, 0.46], "folding arms": [0.86, 0.14]}
    collapsed = {"turtling neck": [0.4456, 0.5544], "touching hat": [0.4456, 0.5544], "background": [0.4456, 0.5544]}
    assert gate_spread(healthy) == pytest.approx(0.66)
    assert gate_collapse_warning(healthy) is None
    assert gate_spread(collapsed) == 0.0
    msg = gate_collapse_warning(collapsed)
    assert msg is not None and "collapsed" in msg and "0.45" in msg
    assert gate_spread({}) is None and gate_collapse_warning({}) is None  # no gate (fusion off)


def test_bundled_checkpoint_gate_has_not_collapsed():
    import json

    from mgreason.recognizer.fusion import gate_collapse_warning
    from mgreason.recognizer.inference import bundled_checkpoint_path

    cfg = json.loads((bundled_checkpoint_path() / "config.json").read_text())
    assert gate_collapse_warning(cfg["training"]["test"]["gate_per_class"]) is None
