"""Independent oracles for our own maths (issue 14 item 9): each test compares one of our
components with another implementation (librosa, captum, baycomp, NeuroKit2, openSMILE,
statsmodels) or with values worked out by hand on tiny tensors, never with our formula retyped."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from edaffect.reporting.statistics import corrected_resampled_ttest, holm_adjust
from edaffect.signal.eda_features import FeatureSettings, detect_scrs, mfcc

DATA = Path(__file__).parent / "data"
SONG = DATA / "pmemo-public-samples" / "108.mp3"


# --------------------------------------------------------------------------- MFCC vs librosa


@pytest.mark.oracle
@pytest.mark.parametrize("fs, frame_s, hop_s", [(16.0, 4.0, 1.0), (32.0, 2.0, 0.5)])
def test_mfcc_matches_librosa(fs, frame_s, hop_s):
    """Same frames (Hann, frame = n_fft so no zero padding, no centring), HTK mel with Slaney
    area normalisation, power -> dB floored 80 dB below the max, orthonormal DCT-II."""
    librosa = pytest.importorskip("librosa")
    rng = np.random.default_rng(3)
    x = np.cumsum(rng.normal(size=int(90 * fs))) * 0.05 + np.sin(np.arange(int(90 * fs)) / 3)
    settings = FeatureSettings(mfcc_frame_s=frame_s, mfcc_hop_s=hop_s, mfcc_n_mels=40)
    ours = mfcc(x, fs, settings)
    n_fft = int(frame_s * fs)
    spec = np.abs(
        librosa.stft(x, n_fft=n_fft, hop_length=int(hop_s * fs), window="hann", center=False)
    ) ** 2
    mel = librosa.filters.mel(sr=fs, n_fft=n_fft, n_mels=40, fmin=0.0, fmax=fs / 2, htk=True,
                              norm="slaney") @ spec
    db = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0)
    theirs = librosa.feature.mfcc(S=db, n_mfcc=20, dct_type=2, norm="ortho")
    assert ours.shape == theirs.shape
    scale = np.abs(theirs).max()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6 * scale)


# --------------------------------------------------------------------------- Grad-CAM vs captum


def _rtcan(modules, music_dim=0):
    from edaffect.models import build_model

    torch.manual_seed(0)
    exp = {"model": "rtcan1d", "modules": modules, "music": bool(music_dim)}
    model = build_model(exp, 3, 96, music_dim).eval()
    for m in model.modules():  # non-trivial batch-norm statistics
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    return model


@pytest.mark.parametrize("modules, layer", [
    (["sca", "rnta"], "attention"),
    (["rnta"], "attention"),
    (["sca_res", "sca", "rnta"], "rfe.blocks.2"),
])
@pytest.mark.oracle
def test_gradcam_matches_captum(modules, layer):
    captum = pytest.importorskip("captum.attr")
    from edaffect.models.gradcam import grad_cam_1d

    model = _rtcan(modules, music_dim=5)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 96)).astype(np.float32)
    music = rng.normal(size=5).astype(np.float32)
    ours = grad_cam_1d(model, x, layer, class_index=1, music=music)
    cam = captum.LayerGradCam(model, dict(model.named_modules())[layer])
    attr = cam.attribute(torch.as_tensor(x)[None], target=1,
                         additional_forward_args=(torch.as_tensor(music)[None],),
                         relu_attributions=True)
    up = captum.LayerAttribution.interpolate(attr, (96,), interpolate_mode="linear")
    theirs = up[0, 0].detach().numpy().astype(np.float64)
    assert theirs.max() > 0
    np.testing.assert_allclose(ours.cam, theirs / theirs.max(), atol=1e-5)


# --------------------------------------------------------------------- corrected t-test vs baycomp


@pytest.mark.oracle
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_corrected_ttest_matches_baycomp(seed):
    """Equal folds: n_test/n_train = 1/(k-1), baycomp's Nadeau-Bengio correction. Our CI is the
    2.5/97.5 % quantiles of baycomp's Student posterior, our two-sided p twice its smaller tail."""
    baycomp = pytest.importorskip("baycomp")
    from scipy import stats

    rng = np.random.default_rng(seed)
    k = 10
    reference = rng.uniform(0.5, 0.7, size=k)
    model = reference + rng.normal(0.03 * seed, 0.04, size=k)
    ours = corrected_resampled_ttest(model - reference, 1.0 / (k - 1))
    mean, var, df = baycomp.CorrelatedTTest.compute_statistics(reference, model)
    posterior = stats.t(df, loc=mean, scale=math.sqrt(var))
    p_left, p_right = baycomp.CorrelatedTTest.probs(reference, model)
    assert ours.mean_diff == pytest.approx(mean, rel=1e-12)
    assert ours.ci_low == pytest.approx(posterior.ppf(0.025), rel=1e-9)
    assert ours.ci_high == pytest.approx(posterior.ppf(0.975), rel=1e-9)
    assert ours.p_value == pytest.approx(2 * min(p_left, p_right), rel=1e-9)


# --------------------------------------------------------------------------- Holm vs statsmodels


@pytest.mark.oracle
def test_holm_matches_statsmodels():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    rng = np.random.default_rng(5)
    p = np.concatenate([rng.uniform(0, 0.06, 8), rng.uniform(0, 1, 7), [0.01, 0.01]])
    expected = multitest.multipletests(p, method="holm")[1]
    np.testing.assert_allclose(holm_adjust(p), expected, rtol=1e-12)
    with_nan = np.insert(p, [2, 5], np.nan)
    out = holm_adjust(with_nan)
    assert np.isnan(out[[2, 6]]).all()
    np.testing.assert_allclose(out[np.isfinite(out)], expected, rtol=1e-12)


# ------------------------------------------------------------------- SCR detection vs NeuroKit2


def _planted_phasic(fs: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A phasic signal of Bateman-shaped SCRs (amplitude 0.1-1 µS, 2-9 s apart) + noise; the
    planted apex times in seconds."""
    rng = np.random.default_rng(seed)
    duration = 240.0
    t = np.arange(int(duration * fs)) / fs
    onsets = []
    time = 3.0
    while time < duration - 10:
        onsets.append(time)
        time += rng.uniform(2.0, 9.0)
    signal = np.zeros_like(t)
    apexes = []
    tau_rise, tau_decay = 0.75, 2.0
    shape_t = np.arange(int(20 * fs)) / fs
    shape = np.exp(-shape_t / tau_decay) - np.exp(-shape_t / tau_rise)
    apex = shape_t[np.argmax(shape)]
    shape /= shape.max()
    for onset in onsets:
        start = int(round(onset * fs))
        seg = shape[: len(t) - start] * rng.uniform(0.1, 1.0)
        signal[start : start + len(seg)] += seg
        apexes.append(onset + apex)
    signal += rng.normal(0, 0.003, size=t.size)
    return signal, np.asarray(apexes)


def _f1(found_s: np.ndarray, truth_s: np.ndarray, tolerance: float = 0.5) -> float:
    """Greedy one-to-one matching within `tolerance` seconds."""
    unused = list(truth_s)
    hits = 0
    for f in sorted(found_s):
        best = min(unused, key=lambda t: abs(t - f), default=None)
        if best is not None and abs(best - f) <= tolerance:
            unused.remove(best)
            hits += 1
    if hits == 0:
        return 0.0
    precision, recall = hits / len(found_s), hits / len(truth_s)
    return 2 * precision * recall / (precision + recall)


@pytest.mark.oracle
@pytest.mark.parametrize("seed", [0, 1])
def test_scr_detection_agrees_with_neurokit(seed):
    nk = pytest.importorskip("neurokit2")
    fs = 32.0
    phasic, truth = _planted_phasic(fs, seed)
    # our detector works on min-max normalised phasic (features.py); amplitudes >= 0.1 of 1 µS
    normalised = (phasic - phasic.min()) / (phasic.max() - phasic.min())
    _, peaks = detect_scrs(normalised, fs, FeatureSettings())
    ours = peaks / fs
    _, info = nk.eda_peaks(phasic, sampling_rate=int(fs), method="neurokit", amplitude_min=0.1)
    theirs = np.asarray(info["SCR_Peaks"], dtype=float) / fs
    assert _f1(theirs, truth) >= 0.9, "NeuroKit2 itself misses the planted SCRs"
    assert _f1(ours, truth) >= 0.9
    assert _f1(ours, theirs) >= 0.9


# --------------------------------------------------------------------------- openSMILE


@pytest.mark.oracle
@pytest.mark.skipif(not SONG.is_file(), reason=f"{SONG} not present")
def test_opensmile_features_equal_direct_call():
    """Our 6,373 functionals of a real stereo MP3 (read by soundfile, channels averaged, native
    rate) equal openSMILE's own reading of the file with its channel mix-down (rtol 1e-5,
    float32 decoding); against openSMILE's default left-channel reading they differ, which is why
    we mix down."""
    opensmile = pytest.importorskip("opensmile")
    from edaffect.signal.music import audio_features

    ours = audio_features(SONG)
    smile = opensmile.Smile(
        feature_set=opensmile.FeatureSet.ComParE_2016,
        feature_level=opensmile.FeatureLevel.Functionals,
        channels=[0, 1],
        mixdown=True,
    )
    theirs = smile.process_file(str(SONG)).iloc[0]
    assert list(ours.index) == list(theirs.index)
    assert len(ours) == 6373
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(dtype=float), rtol=1e-5,
                               atol=1e-6)


# ------------------------------------------------------------- SCA, RNTA, residual block by hand


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def test_sca_by_hand():
    from edaffect.models.rtcan1d import SCA

    sca = SCA(2)  # hidden = max(1, 2 // 8) = 1
    with torch.no_grad():
        sca.w0.weight.copy_(torch.tensor([[[0.5], [0.25]]]))
        sca.w0.bias.zero_()
        sca.w1.weight.copy_(torch.tensor([[[1.0]], [[-1.0]]]))
        sca.w1.bias.zero_()
    x = torch.tensor([[[1.0, 3.0], [2.0, 2.0]]])
    # channel means 2, 2 -> hidden relu(0.5*2 + 0.25*2) = 1.5 -> gates sigmoid(1.5), sigmoid(-1.5)
    g0, g1 = _sigmoid(1.5), _sigmoid(-1.5)
    expected = [[[1.0 * g0, 3.0 * g0], [2.0 * g1, 2.0 * g1]]]
    np.testing.assert_allclose(sca(x).detach().numpy(), expected, rtol=1e-6)


def test_rnta_by_hand():
    from edaffect.models.rtcan1d import RNTA

    rnta = RNTA(2).eval()  # inter = 1 channel, pooling kernel 1 (Eq. 10)
    with torch.no_grad():
        rnta.theta.weight.copy_(torch.tensor([[[1.0], [0.0]]]))
        rnta.phi.weight.copy_(torch.tensor([[[0.0], [1.0]]]))
        rnta.g.weight.copy_(torch.tensor([[[1.0], [1.0]]]))
        for conv in (rnta.theta, rnta.phi, rnta.g):
            conv.bias.zero_()
        rnta.w[0].weight.copy_(torch.tensor([[[1.0]], [[2.0]]]))
        rnta.w[0].bias.zero_()
    x = torch.tensor([[[1.0, 2.0], [0.0, 1.0]]])
    # theta = [1, 2], phi = [0, 1], g = [1, 3]; attention row t = softmax(theta_t * phi)
    a0 = [1 / (1 + math.e), math.e / (1 + math.e)]
    a1 = [1 / (1 + math.e**2), math.e**2 / (1 + math.e**2)]
    y = [a0[0] * 1 + a0[1] * 3, a1[0] * 1 + a1[1] * 3]
    bn = 1 / math.sqrt(1 + 1e-5)  # eval batch norm: running mean 0, var 1
    expected = [[[y[0] * bn + 1, y[1] * bn + 2], [2 * y[0] * bn + 0, 2 * y[1] * bn + 1]]]
    np.testing.assert_allclose(rnta(x).detach().numpy(), expected, rtol=1e-6)
    # kernel 2 pools phi and g to one position: every output step attends to it alone
    pooled = RNTA(2, pool=2).eval()
    pooled.load_state_dict(rnta.state_dict())
    g_mean = (1 + 3) / 2
    expected2 = [[[g_mean * bn + 1, g_mean * bn + 2], [2 * g_mean * bn, 2 * g_mean * bn + 1]]]
    np.testing.assert_allclose(pooled(x).detach().numpy(), expected2, rtol=1e-6)


def test_residual_block_by_hand():
    from edaffect.models.rtcan1d import ResBlock

    block = ResBlock(1, 1, stride=1, sca_res=False).eval()
    with torch.no_grad():
        block.conv.weight.copy_(torch.tensor([[[1.0, 0.0, -1.0]]]))
    x = torch.tensor([[[1.0, -2.0, 3.0]]])
    # conv (zero padded): [0 - (-2), 1 - 3, -2 - 0] = [2, -2, -2]; BN ~ identity; ReLU -> [2, 0, 0]
    bn = 1 / math.sqrt(1 + 1e-5)
    expected = [[[max(0.0, 2 * bn + 1), max(0.0, 0 - 2), max(0.0, 0 + 3)]]]
    np.testing.assert_allclose(block(x).detach().numpy(), expected, rtol=1e-6)
