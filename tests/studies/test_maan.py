"""MAAN model, protocols and table pieces."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import confusion_matrix, precision_score, recall_score

from edaffect.models.maan import MAAN, build_maan
from edaffect.reporting.paper import load_paper_values
from edaffect.studies.maan.segments import segment_roles
from edaffect.studies.maan.study import maan_metrics, maan_table

LAYOUT = {"ecg": (2, 24), "eeg": (4, 14, 10), "eda": (1, 64)}


def _x(n, modalities):
    return torch.randn(n, sum(int(np.prod(LAYOUT[m])) for m in modalities))


def test_maan_shapes_attention_and_basic():
    torch.manual_seed(0)
    model = MAAN(LAYOUT, attention=True, width=6, eda_width=6)
    x = _x(5, ["ecg", "eeg", "eda"])
    assert model(x).shape == (5, 2)
    feats, masks = model.features(x)
    assert feats.shape == (5, 18) and [m.shape for m in masks] == [(5, 6)] * 3
    assert all(((m > 0) & (m < 1)).all() for m in masks)
    basic = MAAN({k: LAYOUT[k] for k in ("ecg", "eeg")}, attention=False, width=6)
    assert basic.attention is None and basic.features(_x(3, ["ecg", "eeg"]))[1] is None
    single = build_maan({"modalities": ["eeg"], "attention": True}, LAYOUT)
    assert single.attention is None and single(_x(2, ["eeg"])).shape == (2, 2)
    # attention changes the output: its masks multiply the features
    model.eval()
    with torch.no_grad():
        ref = model(x)
        model.attention.heads[0].bias.fill_(-20.0)  # ECG mask -> ~0
        assert not torch.allclose(ref, model(x))


@pytest.mark.parametrize("kernel, crosses", [(1, False), (0, True)])
def test_attention_kernel_sets_which_modalities_a_mask_sees(kernel, crosses):
    """kernel 1: the ECG mask reads only ECG descriptors; 0 (spanning): every descriptor of the
    concatenation, so the ECG mask's gradient reaches the last EEG channel (autograd oracle)."""
    from edaffect.models.maan import ModalityAttention

    torch.manual_seed(0)
    attention = ModalityAttention([6, 6], hidden=4, kernel=kernel, mixing="sequence")
    maps = [torch.randn(2, 6, 24, requires_grad=True), torch.randn(2, 6, 14, 10,
                                                                   requires_grad=True)]
    masks = attention(maps)
    assert [m.shape for m in masks] == [(2, 6), (2, 6)]
    (grad,) = torch.autograd.grad(masks[0].sum(), maps[1])
    assert bool(grad.abs().sum() > 0) is crosses
    with pytest.raises(ValueError, match="odd"):
        ModalityAttention([6, 6], kernel=2, mixing="sequence")


def test_channel_mixing_attention_sees_every_channel_of_every_modality():
    """mixing "channels": the concatenated descriptor is the channel axis of a 1x1 convolution,
    so each mask value depends on the max of every feature channel of both modalities (autograd
    oracle: nonzero gradient of one ECG mask value into each EEG channel's maximum, none into a
    non-maximal position), and permuting the EEG channels cannot leave the masks unchanged."""
    from edaffect.models.maan import ModalityAttention

    torch.manual_seed(0)
    attention = ModalityAttention([5, 7], hidden=4, mixing="channels")
    for p in attention.parameters():  # no dead ReLU units: every path carries gradient
        torch.nn.init.uniform_(p, 0.1, 0.5)
    ecg, eeg = torch.randn(2, 5, 24), torch.randn(2, 7, 14, 10, requires_grad=True)
    masks = attention([ecg, eeg])
    assert [m.shape for m in masks] == [(2, 5), (2, 7)]
    assert all(((m > 0) & (m < 1)).all() for m in masks)
    (grad,) = torch.autograd.grad(masks[0][0, 2], eeg)
    flat = grad[0].flatten(1)  # (7 channels, 140 positions)
    argmax = eeg[0].detach().flatten(1).argmax(1)
    assert (flat[torch.arange(7), argmax] != 0).all()
    assert int((flat != 0).sum()) == 7  # only the maxima reach the mask
    assert torch.equal(grad[1], torch.zeros_like(grad[1]))  # samples stay separate
    shuffled = attention([ecg, eeg.detach()[:, [1, 0, 2, 3, 4, 5, 6]]])
    assert not torch.allclose(shuffled[0], masks[0].detach())
    with pytest.raises(ValueError, match="mixing"):
        ModalityAttention([6, 6], mixing="dense")
    model = build_maan({"modalities": ["ecg", "eeg"], "attention": True,
                        "model_settings": {"attention_mixing": "channels"}}, LAYOUT)
    assert model.attention.mixing == "channels" and model(_x(3, ["ecg", "eeg"])).shape == (3, 2)


def test_default_attention_is_the_papers_features_times_mask():
    """No settings: features x mask (a mask of ~0 erases its modality's fused features, which
    x (1 + mask) never does) with channel mixing."""
    torch.manual_seed(0)
    model = build_maan({"modalities": ["ecg", "eeg"], "attention": True}, LAYOUT).eval()
    assert model.attention.mixing == "channels" and model.attention_form == "scale"
    with torch.no_grad():
        model.attention.heads[0].bias.fill_(-30.0)  # ECG mask -> 0
        fused, masks = model.features(_x(4, ["ecg", "eeg"]))
    assert float(masks[0].max()) < 1e-9
    c = model.encoders["ecg"].out_channels
    assert float(fused[:, :c].abs().max()) < 1e-6 and float(fused[:, c:].abs().max()) > 1e-3


def test_maan_learns_a_planted_eeg_effect():
    torch.manual_seed(1)
    n = 128
    y = torch.arange(n) % 2
    x = _x(n, ["ecg", "eeg"])
    eeg = x[:, 48:].view(n, 4, 14, 10)
    eeg[:, 2] += 1.5 * (y.float() - 0.5)[:, None, None]  # beta band shifted by class
    model = build_maan({"modalities": ["ecg", "eeg"], "attention": True}, LAYOUT)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(40):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    model.eval()
    assert (model(x).argmax(1) == y).float().mean() > 0.9


def test_maan_metrics_against_sklearn():
    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    m = maan_metrics(confusion_matrix(t, p, labels=[0, 1]).tolist())
    assert m["sensitivity"] == pytest.approx(recall_score(t, p))
    assert m["specificity"] == pytest.approx(recall_score(t, p, pos_label=0))
    assert m["ppr"] == pytest.approx(precision_score(t, p))
    assert m["sen_spe"] == pytest.approx((m["sensitivity"] + m["specificity"]) / 2)


def test_protocols_partition_segments():
    index = pd.DataFrame({
        "trial_id": [f"P{s}_{t}" for s in range(6) for t in range(4) for _ in range(3)],
        "subject": [f"P{s}" for s in range(6) for _ in range(12)],
    })
    tests = []
    for fold in range(3):
        roles = segment_roles(index, "segment", fold, n_folds=3, seed=1)
        test = set(roles["test"])
        assert not set(roles["train"]) & test and not set(roles["val"]) & test
        tests.extend(roles["test"])
    assert sorted(tests) == list(range(len(index)))
    subjects = sorted(index["subject"].unique())
    splits = pd.DataFrame([
        {"fraction": 1.0, "fold": f, "trial_id": tid, "subject": s, "stimulus": "1",
         "role": "test" if subjects.index(s) % 3 == f else
         "val" if subjects.index(s) % 3 == (f + 1) % 3 else "train"}
        for f in range(3) for tid, s in index[["trial_id", "subject"]].drop_duplicates().values
    ])
    for fold in range(3):
        roles = segment_roles(index, "subject", fold, n_folds=3, seed=1, splits=splits)
        by_role = {r: set(index["subject"].iloc[v]) for r, v in roles.items()}
        assert not by_role["train"] & by_role["test"] and not by_role["val"] & by_role["test"]
    with pytest.raises(ValueError, match="protocol"):
        segment_roles(index, "trial", 0, n_folds=3, seed=1)


def test_table_puts_paper_values_beside_and_tests_against_basic():
    rows = []
    rng = np.random.default_rng(3)
    for exp, base in (("b", 0.6), ("m", 0.8)):
        for dim in ("arousal", "valence"):
            for fold in range(5):
                acc = base + rng.normal(0, 0.02)
                rows.append({"experiment": exp, "protocol": "segment", "dimension": dim,
                             "fold": fold, "accuracy": acc, "sensitivity": acc,
                             "specificity": acc, "sen_spe": acc, "ppr": acc, "n_test": 50,
                             "n_train": 400, "single_class": exp == "b" and fold < 3,
                             "majority": 0.5})
    table = maan_table(pd.DataFrame(rows), [
        {"experiment": "b", "label": "Basic", "paper": "Basic model", "compare_to": "b"},
        {"experiment": "m", "label": "MAAN", "paper": "Proposed model (MAAN)",
         "compare_to": "b"},
    ], load_paper_values())
    maan_arousal = table[(table["model"] == "MAAN") & (table["dimension"] == "arousal")].iloc[0]
    assert maan_arousal["paper ACC (%)"] == "91.68"
    assert maan_arousal["paper PPR (%)"] == "91.50"
    assert maan_arousal["ACC vs Basic"].startswith("Δ +")
    assert table.iloc[0]["ACC vs Basic"] == "reference"
    # Basic predicts one class in 3 of its 5 folds: counted and marked
    assert table.iloc[0]["single-class folds"] == "3/5 ⚠"
    assert table.iloc[0]["model"] == "⚠ Basic" and maan_arousal["single-class folds"] == "0/5"

    # the paper measured under its segment protocol: a subject-protocol row may not carry them
    subject = pd.DataFrame(rows).assign(protocol="subject")
    with pytest.raises(ValueError, match="segment"):
        maan_table(subject, [{"experiment": "b", "label": "Basic", "paper": "Basic model"}],
                   load_paper_values())
    plain = maan_table(subject, [{"experiment": "b", "label": "Basic"}], load_paper_values())
    assert set(plain["paper ACC (%)"]) == {"—"}


def test_table_ceiling_row_and_share_on_the_subject_protocol():
    """Ceiling 80 % over a 50 % majority: a subject-protocol row at 65 % recovers half of it;
    a segment-protocol row (other folds) gets no share."""
    rows = [{"experiment": exp, "protocol": protocol, "dimension": "valence", "fold": fold,
             "accuracy": 0.65, "sensitivity": 0.6, "specificity": 0.7, "sen_spe": 0.65,
             "ppr": 0.6, "n_test": 50, "n_train": 400, "single_class": False, "majority": 0.5}
            for exp, protocol in (("s", "subject"), ("g", "segment")) for fold in range(3)]
    ceiling = pd.DataFrame([{"dataset": "amigos", "dimension": "valence", "fold": fold,
                             "accuracy": 0.8, "majority": 0.5, "n_train": 40, "n_test": 20,
                             "n_subjects_test": 2, "features": "n_scr", "c": 1.0}
                            for fold in range(3)])
    table = maan_table(pd.DataFrame(rows), [{"experiment": "s", "label": "S"},
                                            {"experiment": "g", "label": "G"}], None, ceiling)
    by_model = table.set_index("model")
    assert by_model.loc["S", "share of ceiling"] == "50 %"
    assert by_model.loc["G", "share of ceiling"] == "—"
    assert by_model.loc["planted ceiling", "ACC (%)"] == "80.0 ± 0.0"
    assert by_model.loc["planted ceiling", "share of ceiling"] == "ceiling (majority 50.0)"


def test_header_prints_a_fold_count_other_than_the_papers_as_a_deviation():
    from edaffect.studies.maan.study import table_header

    assert "DEVIATES from the paper's 10-fold" in table_header("c", True, 5)
    assert "DEVIATES" not in table_header("c", False, 10)
    assert "Synthetic data" in table_header("c", True, 10)
    assert "Synthetic data" not in table_header("c", False, 10)


def test_header_lists_the_configured_attention_and_the_segment_protocols_training_share():
    from edaffect.studies.maan.study import table_header

    paper = table_header("c", True, 10, model={"attention_form": "scale",
                                               "attention_mixing": "channels"},
                         segments={"segment_s": 10.0, "window_s": 1.0,
                                   "max_segments_per_trial": 2})
    assert "features x mask (the paper's form)" in paper and "every mask sees both" in paper
    assert "trains on 80 % of the segments" in paper  # 10 folds: 8 train, 1 val, 1 test chunk
    assert "2 evenly spread 10-s segments per trial" in paper
    assert "10 windows" in paper and "channel-only" in paper and "one level" in paper
    old = table_header("c", True, 5, model={"attention_form": "residual",
                                            "attention_mixing": "sequence",
                                            "attention_kernel": 3}, segments={})
    assert "x (1 + mask) (DEVIATES" in old and "within 1 of the ECG|EEG boundary" in old
    assert "trains on 60 % of the segments" in old


def test_maan_family_is_registered_through_config_and_checks_its_options():
    from pathlib import Path

    import yaml

    from edaffect.studies.maan.study import FAMILY, maan_fold_inputs, maan_options
    from edaffect.training import fold_runner

    config = yaml.safe_load((Path(__file__).resolve().parents[2] / "config.yaml").read_text())
    families = fold_runner.model_families(config)
    assert families["maan"] is FAMILY and FAMILY.gpu
    names = [n for n, e in config["experiments"].items() if e["model"] == "maan"]
    assert {row["experiment"] for row in config["maan"]["table"]} <= set(names)
    for name in names:
        exp = {**config["experiments"][name], "name": name}
        assert fold_runner.family_of(exp, families) is FAMILY
        inputs = maan_fold_inputs(exp, "amigos")
        assert ("splits_csv" in inputs) == (exp["options"]["protocol"] == "subject")
    subject = {"name": "x", "model": "maan",
               "options": {"modalities": ["ecg"], "attention": False, "protocol": "subject"}}
    with pytest.raises(ValueError, match="AMIGOS"):
        maan_fold_inputs(subject, "deap")
    for bad, match in (({"modalities": ["ecg"], "attention": False}, "missing"),
                       ({**subject["options"], "protocol": "trial"}, "protocol"),
                       ({**subject["options"], "modalities": ["ecg", "ecg"]}, "distinct"),
                       ({**subject["options"], "modalities": ["emg"]}, "distinct"),
                       ({**subject["options"], "attention": "yes"}, "attention")):
        with pytest.raises(ValueError, match=match):
            maan_options({**subject, "options": bad})
