"""RTCAN-1D / RTCAG and the 3-layer CNN: shapes, gradients, capacity, shared clip attention."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from edaffect.models import (
    CNN3,
    RTCAN1D,
    build_model,
    count_parameters,
    init_code,
    init_normal,
    initialise,
)
from edaffect.models.rtcan1d import RNTA, SCA, ClipAttention

TABLE5 = {
    "base": [],
    "r_a": ["sca_res"],
    "r_b": ["sca"],
    "r_c": ["sca_res", "sca"],
    "r_d": ["rnta"],
    "r_e": ["sca", "rnta"],
    "r_f": ["sca_res", "sca", "rnta"],
}
TABLE4 = [(1, [64, 64, 64, 64]), (1, [64, 128, 256, 512]), (2, [64, 64, 64, 64]),
          (2, [64, 128, 256, 512])]
MUSIC = 6373


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def rtcan(modules, music=True, depth=1, channels=(64, 64, 64, 64)):
    return {"model": "rtcan1d", "modules": list(modules), "music": music, "depth": depth,
            "channels": list(channels)}


@pytest.mark.parametrize("name", sorted(TABLE5))
@pytest.mark.parametrize("music_dim", [0, MUSIC])
def test_table5_variants_give_logits(name, music_dim):
    torch.manual_seed(0)
    model = build_model(rtcan(TABLE5[name]), in_channels=3, input_length=256, music_dim=music_dim)
    music = torch.randn(5, music_dim) if music_dim else None
    out = model(torch.randn(5, 3, 256), music)
    assert out.shape == (5, 2)
    assert torch.isfinite(out).all()
    assert model.modules_on == tuple(m for m in ("sca_res", "sca", "rnta") if m in TABLE5[name])


@pytest.mark.parametrize(("depth", "channels"), TABLE4)
@pytest.mark.parametrize("length", [256, 250, 97])  # multiple of 6, odd clip split, short
def test_table4_configs_and_lengths(depth, channels, length):
    model = build_model(rtcan(TABLE5["r_f"], depth=depth, channels=channels), 3, length, MUSIC)
    blocks = [m for m in model.rfe.blocks]
    assert len(blocks) == 4 * depth
    assert model.rfe.out_features == channels[-1]
    assert model(torch.randn(3, 3, length), torch.randn(3, MUSIC)).shape == (3, 2)


def test_music_is_fused_only_when_asked():
    with_music = build_model(rtcan(TABLE5["r_f"], music=True), 3, 256, MUSIC)
    no_music_exp = build_model(rtcan(TABLE5["r_f"], music=False), 3, 256, MUSIC)
    no_music_data = build_model(rtcan(TABLE5["r_f"], music=True), 3, 256, 0)  # DEAP, AMIGOS
    assert with_music.classifier[0].in_features == 64 + MUSIC
    assert no_music_exp.classifier[0].in_features == 64
    assert no_music_data.classifier[0].in_features == 64
    with pytest.raises(ValueError, match="music"):
        with_music(torch.randn(2, 3, 256))


def test_classifier_is_256_128_2_on_logits():
    model = build_model(rtcan([], music=False), 3, 256)
    linear = [m for m in model.classifier if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linear] == [256, 128, 2]
    assert not isinstance(model.classifier[-1], (nn.ReLU, nn.Softmax))  # loss takes logits


@pytest.mark.parametrize("name", ["base", "r_f"])
def test_gradients_reach_every_parameter(name):
    torch.manual_seed(1)
    model = build_model(rtcan(TABLE5[name]), 3, 120, 16)
    init_normal(model, 0.01)
    x, music = torch.randn(6, 3, 120), torch.randn(6, 16)
    loss = nn.functional.cross_entropy(model(x, music), torch.tensor([0, 1, 0, 1, 1, 0]))
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not missing, f"no gradient reaches {missing}"


def test_cnn3_gradients_and_shape():
    model = build_model({"model": "cnn3"}, in_channels=1, input_length=128)
    assert isinstance(model, CNN3)
    out = model(torch.randn(4, 128))
    assert out.shape == (4, 2)
    out.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    convs = [m for m in model.modules() if isinstance(m, nn.Conv1d)]
    shallow = RTCAN1D().shallow[0]
    assert len(convs) == 3
    assert all(
        (c.kernel_size, c.stride, c.padding) == (shallow.kernel_size, shallow.stride,
                                                 shallow.padding)
        for c in convs
    )
    with pytest.raises(ValueError, match="128"):
        model(torch.randn(4, 100))


@pytest.mark.parametrize("model_kind", ["r_f", "cnn3"])
def test_tiny_batch_is_overfit(model_kind):
    torch.manual_seed(3)
    if model_kind == "cnn3":
        model, x, music = build_model({"model": "cnn3"}, 1, 128), torch.randn(8, 128), None
    else:
        model = build_model(rtcan(TABLE5["r_f"]), 3, 96, 10)
        x, music = torch.randn(8, 3, 96), torch.randn(8, 10)
    y = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1])
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x, music), y).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        assert (model(x, music).argmax(1) == y).all()


def test_clip_attention_has_one_shared_parameter_set():
    model = build_model(rtcan(["sca", "rnta"], music=False), 3, 256)
    attention = model.attention
    assert sum(isinstance(m, SCA) for m in attention.modules()) == 1
    assert sum(isinstance(m, RNTA) for m in attention.modules()) == 1
    single = count_parameters(SCA(64)) + count_parameters(RNTA(64))
    assert count_parameters(attention) == single
    base = build_model(rtcan([], music=False), 3, 256)
    assert count_parameters(model) - count_parameters(base) == single


@pytest.mark.parametrize("length", [96, 97, 98])
def test_every_clip_goes_through_the_same_modules(length):
    """Each of the 3 clips' output equals the shared SCA -> RNTA applied to that clip alone."""
    torch.manual_seed(4)
    attention = ClipAttention(16, sca=True, rnta=True).eval()
    x = torch.randn(2, 16, length)
    with torch.no_grad():
        out = attention(x)
        clip = -(-length // 3)
        padded = nn.functional.pad(x, (0, 3 * clip - length), mode="replicate")
        for i in range(3):
            alone = attention.rnta(attention.sca(padded[..., i * clip:(i + 1) * clip]))
            got = out[..., i * clip:min((i + 1) * clip, length)]
            torch.testing.assert_close(got, alone[..., : got.shape[-1]])
    assert out.shape == x.shape


def test_unknown_model_and_module_are_rejected():
    with pytest.raises(ValueError, match="not a network"):
        build_model({"model": "svm"}, 3, 256)
    with pytest.raises(ValueError, match="unknown RTCAN-1D modules"):
        build_model(rtcan(["attention"]), 3, 256)


def test_init_normal_follows_the_paper():
    model = build_model(rtcan(TABLE5["r_f"], channels=(64, 128, 256, 512)), 3, 256, MUSIC)
    torch.manual_seed(5)
    init_normal(model, 0.01)
    weights = torch.cat([m.weight.flatten() for m in model.modules()
                         if isinstance(m, (nn.Conv1d, nn.Linear))])
    assert abs(float(weights.detach().std()) - 0.01) < 5e-4
    assert abs(float(weights.detach().mean())) < 5e-4
    biases = [m.bias for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Linear))
              and m.bias is not None]
    assert all(float(b.detach().abs().sum()) == 0 for b in biases)


def test_init_code_is_he_normal_fan_out_as_torch_kaiming():
    """Oracle: torch's kaiming_normal_(mode="fan_out", nonlinearity="relu") on the same layer;
    the 3-tap, 64-channel convolution of the issue's closed form gives std sqrt(2 / 192)."""
    big = nn.Conv1d(256, 512, 3)
    ours = nn.Sequential(big)
    torch.manual_seed(1)
    init_code(ours)
    oracle = nn.Conv1d(256, 512, 3)
    nn.init.kaiming_normal_(oracle.weight, mode="fan_out", nonlinearity="relu")
    ours_std, oracle_std = float(big.weight.detach().std()), float(oracle.weight.detach().std())
    assert abs(ours_std - oracle_std) / oracle_std < 0.01
    assert abs(float(big.weight.detach().mean())) < 1e-3
    small = nn.Sequential(*[nn.Conv1d(64, 64, 3) for _ in range(50)])
    init_code(small)
    empirical = float(torch.cat([m.weight.flatten() for m in small]).detach().std())
    assert abs(empirical - 0.102) < 0.002  # sqrt(2 / (3 x 64)) = 0.1021


def test_init_code_leaves_linear_layers_and_sets_batch_norm():
    model = build_model(rtcan(TABLE5["r_f"]), 3, 64, MUSIC)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm1d):
            nn.init.constant_(module.weight, 3.0)
            nn.init.constant_(module.bias, 2.0)
    torch.manual_seed(3)
    linear_before = {n: p.detach().clone() for n, p in model.named_parameters()
                     if any(n.startswith(m + ".") for m, mod in model.named_modules()
                            if isinstance(mod, nn.Linear))}
    assert linear_before
    initialise(model, "code")
    for name, value in model.named_parameters():
        if name in linear_before:
            assert torch.equal(value.detach(), linear_before[name])
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
    assert norms and all(bool((m.weight == 1).all() and (m.bias == 0).all()) for m in norms)


def test_initialise_readings():
    model = build_model(rtcan(TABLE5["r_f"]), 3, 64, MUSIC)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    initialise(model, "pytorch")
    assert all(torch.equal(p.detach(), before[n]) for n, p in model.named_parameters())
    initialise(model, "normal", 0.1)
    convs = torch.cat([m.weight.flatten() for m in model.modules() if isinstance(m, nn.Conv1d)])
    assert abs(float(convs.detach().std()) - 0.1) < 0.005
    with pytest.raises(ValueError, match="one of"):
        initialise(model, "xavier")
