"""Grad-CAM-1D on a tiny hand-built model whose correct map is known in closed form."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from edaffect.models.gradcam import default_target_layer, feature_map_layers, grad_cam_1d


class Tiny(nn.Module):
    """features[0] = ReLU(x[0]) at half the time resolution; logit 1 = mean(features), logit 0 =
    −mean(features).  Grad-CAM for class 1 must therefore be ReLU(x[0]) (upsampled)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(3, 2, kernel_size=2, stride=2, bias=False)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.weight[0, 0, :] = 0.5  # average of two samples of channel 0 only
        self.relu = nn.ReLU(inplace=True)
        self.attention = nn.Identity()
        self.head = nn.Linear(2, 2, bias=False)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([[-1.0, 0.0], [1.0, 0.0]]))

    def forward(self, x, music=None):
        features = self.attention(self.relu(self.conv(x)))
        return self.head(features.mean(dim=-1))


def bump_input(length=64, start=20, stop=30):
    x = np.zeros((3, length), dtype=np.float32)
    x[0, start:stop] = 2.0
    x[0, 40:44] = -3.0  # negative evidence: must not light up
    x[1] = 5.0  # channels the model ignores
    x[2] = np.linspace(-1, 1, length)
    return x


def test_cam_is_the_known_map():
    model = Tiny()
    x = bump_input()
    result = grad_cam_1d(model, x, "attention", class_index=1)
    assert result.cam.shape == (64,) and result.channel_map.shape == (3, 64)
    assert result.cam.max() == pytest.approx(1.0)
    assert np.all(result.cam[22:28] > 0.9)  # inside the bump
    assert np.all(result.cam[:18] == 0) and np.all(result.cam[34:] == 0)  # outside: nothing
    # Guided map: only channel 0 carries gradient; ignored channels stay 0.
    assert result.channel_map[0].max() == pytest.approx(1.0)
    assert np.all(result.channel_map[1:] == 0)
    # Predicted class by default: class 1 (positive mean) with its probability.
    default = grad_cam_1d(model, x, "attention")
    assert default.class_index == 1 and default.probability > 0.5


def test_other_class_has_no_positive_evidence():
    result = grad_cam_1d(Tiny(), bump_input(), "attention", class_index=0)
    assert np.all(result.cam == 0)


def test_leaves_model_unchanged():
    model = Tiny().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    grad_cam_1d(model, bump_input(), "conv", class_index=1)
    assert model.training and model.relu.inplace
    assert not model.conv._forward_hooks and not model.relu._backward_hooks
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_layer_choice_and_errors():
    model = Tiny()
    x = torch.as_tensor(bump_input())[None]
    assert feature_map_layers(model, x) == ["conv", "relu", "attention"]
    assert default_target_layer(model, x) == "attention"
    with pytest.raises(ValueError, match="layer 'nope' not found"):
        grad_cam_1d(model, bump_input(), "nope")
    with pytest.raises(ValueError, match="not a \\(n, C, L\\) feature map"):
        grad_cam_1d(model, bump_input(), "head")
    with pytest.raises(ValueError, match="shape \\(C, L\\)"):
        grad_cam_1d(model, bump_input()[None], "conv")


def test_rtcan1d_variants_of_the_paper_figures():
    from edaffect.models import build_model

    torch.manual_seed(0)
    x = torch.randn(3, 96)
    music = torch.randn(4)
    expected = {("sca_res",): "rfe.blocks.0.sca_res", ("sca",): "attention",
                ("sca_res", "sca"): "attention"}
    for modules, layer in expected.items():
        model = build_model({"model": "rtcan1d", "modules": list(modules), "music": True},
                            3, 96, music_dim=4)
        assert default_target_layer(model, x[None], music[None]) == layer
        result = grad_cam_1d(model, x, layer, music=music)
        assert result.cam.shape == (96,) and np.isfinite(result.channel_map).all()


def test_gradcam_figures_from_saved_models(tmp_path):
    """Figs. 5/6 from model.pt files in the contract's format, on a tiny fold of made-up data."""
    import pandas as pd

    from edaffect.model_selection.splits import load_fold, make_splits
    from edaffect.models import build_model
    from edaffect.reporting.figures import gradcam_figures

    rng = np.random.default_rng(0)
    trials = pd.DataFrame(
        [{"trial_id": f"{s}_{m}", "subject": str(s), "trial": m, "stimulus": str(m),
          "fs": 4.0, "n_samples": 140}
         for s in range(100, 110) for m in (1, 2, 3)]
    )
    trials.to_csv(tmp_path / "trials.csv", index=False)
    splits, _ = make_splits(trials, n_folds=5, fractions=[1.0], seed=0)
    splits.to_csv(tmp_path / "splits.csv", index=False)
    labels = trials[["trial_id", "subject"]].assign(
        valence_label=rng.integers(0, 2, len(trials)), arousal_label=0)
    labels.to_csv(tmp_path / "labels.csv", index=False)
    np.save(tmp_path / "inputs.npy", rng.normal(size=(len(trials), 3, 48)).astype(np.float32))
    pd.DataFrame({"row": range(len(trials)), "trial_id": trials.trial_id}).to_csv(
        tmp_path / "inputs_index.csv", index=False)
    music = pd.DataFrame(rng.normal(size=(3, 4)), columns=list("abcd"))
    music.insert(0, "stimulus", ["1", "2", "3"])
    music.to_csv(tmp_path / "music.csv", index=False)
    test_ids = load_fold(splits, 1.0, 4)["test"]

    models, predictions = [], []
    for name, modules in (("r_a", ["sca_res"]), ("r_b", ["sca"])):
        experiment = {"name": name, "model": "rtcan1d", "modules": modules, "music": True,
                      "input": "eda", "fraction": 1.0}
        spec = {"experiment": experiment, "in_channels": 3, "input_length": 48, "music_dim": 4}
        torch.save({"state_dict": build_model(**spec).state_dict(), **spec},
                   tmp_path / f"{name}.pt")
        pd.DataFrame({"trial_id": test_ids, "subject": [t.split("_")[0] for t in test_ids],
                      "y_true": 0, "y_pred": 0, "p_high": 0.5}).to_csv(
            tmp_path / f"{name}.csv", index=False)
        models.append((name, tmp_path / f"{name}.pt"))
        predictions.append(tmp_path / f"{name}.csv")
    out = {k: tmp_path / f"fig.{k}" for k in ("c.png", "c.pdf", "s.png", "s.pdf")}
    shown = gradcam_figures(
        models, predictions, out["c.png"], out["c.pdf"], out["s.png"], out["s.pdf"],
        dimension="valence", fold=4,
        fold_inputs={"splits_csv": tmp_path / "splits.csv", "labels_csv": tmp_path / "labels.csv",
                     "inputs_npy": tmp_path / "inputs.npy",
                     "inputs_index_csv": tmp_path / "inputs_index.csv",
                     "music_features_csv": tmp_path / "music.csv"},
        data_line="data test: SYNTHETIC", seed=1, trials_csv=tmp_path / "trials.csv", crop_s=3.0,
    )
    assert shown["trial_id"] in test_ids
    assert list(shown["layers"].values()) == ["rfe.blocks.0.sca_res", "attention"]
    for path in out.values():
        assert path.stat().st_size > 1000
