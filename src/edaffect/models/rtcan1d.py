"""RTCAN-1D / RTCAG (Yin et al., paper §3) in PyTorch, module names as in the paper.

Shallow feature extraction (conv + BN) -> attention module on 3 equal temporal clips with one
shared SCA and one shared RNTA -> residual feature extraction (RFE, 1-D ResNet-18 with depth d
per stage, widths c, optional SCA_Res in every block) -> global average pooling (EDA vector)
-> [concatenate music features] -> classifier 256 -> 128 -> 2 (logits; the loss applies the
softmax).  With music off the network is RTCAG.

Table 5 variants are flag sets: Base = {}, R_a = {sca_res}, R_b = {sca}, R_c = {sca_res, sca},
R_d = {rnta}, R_e = {sca, rnta}, R_f = {sca_res, sca, rnta}.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

MODULES = ("sca_res", "sca", "rnta")
N_CLIPS = 3  # paper §3.2.1: latency, rise, recovery -> 3 clips
SCA_REDUCTION = 8
SHALLOW_KERNEL = 7  # the authors' shallow layer: kernel 7, stride 2
RES_KERNEL = 3
CLASSIFIER_HIDDEN = (256, 128)
# Eq. (10): φ and g are embedded by a 1x1 conv and an average pooling "with kernel of size 1" (no
# subsampling). Kernel 2 (the non-local networks' usual subsampling) halves the T x T' attention
# matrix; it is an experiment setting (`rnta_pool`), the paper's value is the default.
RNTA_POOL = 1
N_CLASSES = 2


class SCA(nn.Module):
    """Signal channel attention: 1-D squeeze-and-excitation (avg-pool over time, MLP with
    reduction r, sigmoid) that rescales every channel of its input (paper eq. 8)."""

    def __init__(self, channels: int, reduction: int = SCA_REDUCTION):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.w0 = nn.Conv1d(channels, hidden, kernel_size=1)
        self.relu = nn.ReLU(inplace=True)
        self.w1 = nn.Conv1d(hidden, channels, kernel_size=1)
        self.gate = nn.Sigmoid()

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        """Channel weights in (0, 1), shape (n, C, 1)."""
        return self.gate(self.w1(self.relu(self.w0(self.pool(x)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weights(x)


class RNTA(nn.Module):
    """Residual non-local temporal attention: embedded-Gaussian non-local operation over the
    time axis (θ, φ, g 1x1 convs to C/2 channels, φ and g average-pooled by `pool`, softmax),
    output through W = conv + BN, plus the residual input (paper eqs. 10-13)."""

    def __init__(
        self, channels: int, inter_channels: int | None = None, pool: int = RNTA_POOL
    ):
        if int(pool) < 1:
            raise ValueError(f"RNTA pooling kernel must be >= 1, got {pool}")
        super().__init__()
        inter = inter_channels or max(1, channels // 2)
        self.inter_channels = inter
        self.theta = nn.Conv1d(channels, inter, kernel_size=1)
        self.phi = nn.Conv1d(channels, inter, kernel_size=1)
        self.g = nn.Conv1d(channels, inter, kernel_size=1)
        self.pool = nn.AvgPool1d(pool) if pool > 1 else nn.Identity()
        self.w = nn.Sequential(nn.Conv1d(inter, channels, kernel_size=1), nn.BatchNorm1d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        theta = self.theta(x).transpose(1, 2)  # (n, T, C')
        phi = self.pool(self.phi(x))  # (n, C', T')
        g = self.pool(self.g(x)).transpose(1, 2)  # (n, T', C')
        attention = torch.softmax(torch.bmm(theta, phi), dim=-1)  # (n, T, T')
        nonlocal_ = torch.bmm(attention, g).transpose(1, 2)  # (n, C', T)
        return self.w(nonlocal_) + x


class ClipAttention(nn.Module):
    """Attention module H_A: the shallow feature is cut into `n_clips` equal temporal clips and
    each clip goes through the same SCA then the same RNTA (one parameter set for all clips).

    The clips are processed in parallel (stacked on the batch axis).  When the length is not a
    multiple of `n_clips`, the last clip is completed by repeating the last sample (at most
    n_clips - 1 samples) and the padded positions are dropped from the output.
    """

    def __init__(
        self, channels: int, sca: bool, rnta: bool, n_clips: int = N_CLIPS,
        rnta_pool: int = RNTA_POOL,
    ):
        super().__init__()
        self.n_clips = n_clips
        self.sca = SCA(channels) if sca else None
        self.rnta = RNTA(channels, pool=rnta_pool) if rnta else None

    def _clip(self, x: torch.Tensor) -> torch.Tensor:
        if self.sca is not None:
            x = self.sca(x)
        if self.rnta is not None:
            x = self.rnta(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, length = x.shape
        if length < self.n_clips:
            raise ValueError(f"feature length {length} is shorter than {self.n_clips} clips")
        k = self.n_clips
        clip = -(-length // k)
        if clip * k != length:  # complete the last clip by repeating the last sample
            x = nn.functional.pad(x, (0, clip * k - length), mode="replicate")
        stacked = x.reshape(n, c, k, clip).permute(0, 2, 1, 3).reshape(n * k, c, clip)
        out = self._clip(stacked)
        return out.reshape(n, k, c, clip).permute(0, 2, 1, 3).reshape(n, c, k * clip)[..., :length]


class ResBlock(nn.Module):
    """Simplified 1-D residual block (paper §3.2.3): [SCA_Res] -> conv -> BN -> ReLU, plus the
    (1x1 conv + BN projected when the shape changes) input, then ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, sca_res: bool):
        super().__init__()
        self.sca_res = SCA(in_channels) if sca_res else None
        self.conv = nn.Conv1d(
            in_channels, out_channels, RES_KERNEL, stride=stride, padding=RES_KERNEL // 2,
            bias=False,
        )
        self.bn = nn.BatchNorm1d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv1d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm1d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inner = self.sca_res(x) if self.sca_res is not None else x
        out = self.relu(self.bn(self.conv(inner)))
        return self.relu(out + self.shortcut(x))


class RFE(nn.Module):
    """Residual feature extraction: four stages of `depth` blocks (first block of each stage
    downsamples by 2) with widths `channels`, then global average pooling -> EDA vector."""

    def __init__(self, in_channels: int, channels: Sequence[int], depth: int, sca_res: bool):
        super().__init__()
        blocks: list[nn.Module] = []
        current = in_channels
        for width in channels:
            for i in range(depth):
                blocks.append(ResBlock(current, width, 2 if i == 0 else 1, sca_res))
                current = width
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.out_features = current

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.blocks(x)).flatten(1)


def classifier(in_features: int, hidden: Sequence[int] = CLASSIFIER_HIDDEN) -> nn.Sequential:
    """Classifier H_CF: Linear-ReLU layers of widths `hidden`, then Linear -> 2 logits."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_features, width), nn.ReLU(inplace=True)]
        in_features = width
    layers.append(nn.Linear(in_features, N_CLASSES))
    return nn.Sequential(*layers)


class RTCAN1D(nn.Module):
    """RTCAG feature extractor + classifier; fuses music features when `music_dim` > 0."""

    def __init__(
        self,
        in_channels: int = 3,
        modules: Iterable[str] = MODULES,
        depth: int = 1,
        channels: Sequence[int] = (64, 64, 64, 64),
        music_dim: int = 0,
        input_length: int | None = None,
        rnta_pool: int = RNTA_POOL,
    ):
        super().__init__()
        flags = set(modules)
        unknown = flags - set(MODULES)
        if unknown:
            raise ValueError(f"unknown RTCAN-1D modules {sorted(unknown)}; known: {MODULES}")
        if len(channels) != 4 or depth < 1:
            raise ValueError(f"RFE needs 4 stage widths and depth >= 1, got {channels}, {depth}")
        self.modules_on = tuple(m for m in MODULES if m in flags)
        self.music_dim = int(music_dim)
        self.input_length = input_length
        width = int(channels[0])
        self.shallow = nn.Sequential(
            nn.Conv1d(
                in_channels, width, SHALLOW_KERNEL, stride=2, padding=SHALLOW_KERNEL // 2
            ),
            nn.BatchNorm1d(width),
        )
        self.attention = (
            ClipAttention(
                width, sca="sca" in flags, rnta="rnta" in flags, rnta_pool=int(rnta_pool)
            )
            if {"sca", "rnta"} & flags
            else None
        )
        self.rfe = RFE(width, [int(c) for c in channels], int(depth), "sca_res" in flags)
        self.classifier = classifier(self.rfe.out_features + self.music_dim)

    def eda_vector(self, x: torch.Tensor) -> torch.Tensor:
        """F_EF: the pooled EDA feature vector of a (n, C, L) batch."""
        features = self.shallow(x)
        if self.attention is not None:
            features = self.attention(features)
        return self.rfe(features)

    def forward(self, x: torch.Tensor, music: torch.Tensor | None = None) -> torch.Tensor:
        features = self.eda_vector(x)
        if self.music_dim:
            if music is None or music.shape[-1] != self.music_dim:
                got = None if music is None else tuple(music.shape)
                raise ValueError(f"model fuses {self.music_dim} music features, got {got}")
            features = torch.cat([features, music.to(features.dtype)], dim=1)
        return self.classifier(features)
