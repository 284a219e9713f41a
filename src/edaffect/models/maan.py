"""MAAN (Woo et al., NeurIPS 2023 workshop): intra-modality U-Nets + modality-aware attention.

- Intra-modality network (§2.1): per modality one U-Net unit (encoder conv-BN-ReLU, max-pool,
  bottleneck, upsampling, skip concatenation, decoder conv-BN-ReLU) followed by squeeze-and-
  excitation (channel SE only; Roy et al. 2018 also has spatial SE). EEG: 2-D on the DE maps
  (bands as input channels, electrode x time); HRV: 1-D on the zero-padded RR series and its
  padding mask (2 input channels). EDA (beyond the paper): the
  project's 1-D residual EDA encoder (`rtcan1d.RFE` blocks) gives its feature map.
- Modality-aware attention (§2.2): max-pool each modality's map over its spatial/temporal axes
  -> one descriptor per modality (length = its feature channels); concatenate; a shared 1-D
  convolution over the concatenated descriptor; split back per modality; per modality a 1-D
  convolution + sigmoid = the attention mask, which rescales that modality's feature channels
  (x mask, the paper's, or x (1 + mask): `attention_form`). `attention_mixing: channels` (the
  default) treats the concatenated descriptor as channels of a 1x1 convolution, so every mask
  sees both modalities; `sequence` slides an `attention_kernel`-tap convolution along it (0 =
  spanning), see `ModalityAttention`.
- Then global average pooling per modality, concatenation, classifier -> 2 logits.
  Basic model = the same without the attention (masks = 1).

Input is one flat float vector per segment (the project's training loop passes one array): the
concatenation of every used modality's flattened input in `MODALITIES` order; `layout` says the
shapes. `forward(x, music=None)` as every network of the study.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from edaffect.models.rtcan1d import RFE, classifier

MODALITIES = ("ecg", "eeg", "eda")
# scale: features x mask (the paper's wording); residual: features x (1 + mask), as in residual
# attention networks (Wang et al. 2017): the attention can only re-weight, never erase a modality
ATTENTION_FORMS = ("scale", "residual")
ATTENTION_MIXINGS = ("channels", "sequence")


class SqueezeExcitation(nn.Module):
    """Channel SE: global average -> bottleneck MLP -> sigmoid channel weights."""

    def __init__(self, channels: int, reduction: int = 2):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc = nn.Sequential(
            nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.fc(x.flatten(2).mean(-1))
        return x * weights.view(*weights.shape, *([1] * (x.dim() - 2)))


def _conv_unit(dims: int, in_ch: int, out_ch: int, kernel: int) -> nn.Sequential:
    conv = nn.Conv2d if dims == 2 else nn.Conv1d
    norm = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
    return nn.Sequential(
        conv(in_ch, out_ch, kernel, padding=kernel // 2, bias=False), norm(out_ch),
        nn.ReLU(inplace=True),
    )


class UNetSE(nn.Module):
    """One U-Net unit with squeeze-excitation, 1-D or 2-D; output keeps the input's size."""

    def __init__(self, dims: int, in_ch: int, width: int, kernel: int = 3):
        super().__init__()
        self.dims = dims
        self.enc = _conv_unit(dims, in_ch, width, kernel)
        self.pool = (nn.MaxPool2d if dims == 2 else nn.MaxPool1d)(2, ceil_mode=True)
        self.mid = _conv_unit(dims, width, 2 * width, kernel)
        self.dec = _conv_unit(dims, 3 * width, width, kernel)
        self.se = SqueezeExcitation(width)
        self.out_channels = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.enc(x)
        deep = self.mid(self.pool(skip))
        mode = "bilinear" if self.dims == 2 else "linear"
        up = nn.functional.interpolate(deep, size=skip.shape[2:], mode=mode, align_corners=False)
        return self.se(self.dec(torch.cat([skip, up], dim=1)))


class EDAEncoder(nn.Module):
    """The project's 1-D EDA encoder (RTCAN-1D shallow conv + RFE residual blocks), map output."""

    def __init__(self, width: int):
        super().__init__()
        self.shallow = nn.Sequential(nn.Conv1d(1, width, 7, stride=2, padding=3),
                                     nn.BatchNorm1d(width))
        self.rfe = RFE(width, [width, width], depth=1, sca_res=False)
        self.out_channels = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rfe.blocks(self.shallow(x))


class ModalityAttention(nn.Module):
    """§2.2: max-pooled descriptors -> concatenation -> shared conv -> split -> per-modality conv
    + sigmoid = one mask per modality (a weight per feature channel).

    `mixing` = how the concatenated descriptor enters the shared convolution:
    - "channels": as the channels of a length-1 map (a 1x1 convolution = fully connected over
      every modality's channels, as in squeeze-excitation and the multimodal transfer module,
      Joze et al. 2020); its `hidden` x n_modalities outputs are split into one group per
      modality, and each group's 1x1 convolution gives that modality's mask. Every mask sees
      every modality; channel order carries no meaning.
    - "sequence": as a 1-channel sequence of sum(C_m) positions, `kernel` taps (0 = spanning),
      split along the sequence, per-modality `kernel`-tap convolution (the first reading).
    """

    def __init__(self, sizes: Sequence[int], hidden: int = 4, kernel: int = 3,
                 mixing: str = "channels"):
        super().__init__()
        self.sizes = list(sizes)
        if mixing not in ATTENTION_MIXINGS:
            raise ValueError(f"attention mixing must be one of {ATTENTION_MIXINGS}, got "
                             f"{mixing!r}")
        self.mixing = mixing
        if mixing == "channels":
            total, n = sum(self.sizes), len(self.sizes)
            self.shared = nn.Sequential(nn.Conv1d(total, hidden * n, 1), nn.ReLU(inplace=True))
            self.heads = nn.ModuleList(nn.Conv1d(hidden, c, 1) for c in self.sizes)
            self.hidden = hidden
            return
        # kernel 0 = spanning: 2 x (total channels) - 1 taps, so every position of the shared
        # map sees the whole concatenated descriptor (every modality's mask sees all modalities)
        kernel = 2 * sum(self.sizes) - 1 if kernel == 0 else kernel
        if kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"attention kernel must be odd and >= 1 (or 0 = spanning), "
                             f"got {kernel}")
        self.shared = nn.Sequential(
            nn.Conv1d(1, hidden, kernel, padding=kernel // 2), nn.ReLU(inplace=True)
        )
        self.heads = nn.ModuleList(
            nn.Conv1d(hidden, 1, kernel, padding=kernel // 2) for _ in self.sizes
        )

    def forward(self, maps: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        pooled = torch.cat([m.flatten(2).amax(-1) for m in maps], dim=1)  # (n, sum C_m)
        if self.mixing == "channels":
            shared = self.shared(pooled.unsqueeze(2))  # (n, hidden x n_modalities, 1)
            parts = torch.split(shared, self.hidden, dim=1)
            return [torch.sigmoid(head(p)).squeeze(2) for head, p in zip(self.heads, parts,
                                                                          strict=True)]
        shared = self.shared(pooled.unsqueeze(1))  # (n, hidden, sum C_m)
        parts = torch.split(shared, self.sizes, dim=2)
        return [torch.sigmoid(head(p)).squeeze(1) for head, p in zip(self.heads, parts,
                                                                      strict=True)]


class MAAN(nn.Module):
    """Multi-modal (or single-modal) network; `attention` False = the paper's Basic model."""

    def __init__(
        self, layout: dict[str, tuple[int, ...]], *, attention: bool = True, width: int = 8,
        eda_width: int = 8, hidden: Sequence[int] = (32,), attention_hidden: int = 4,
        attention_form: str = "scale", attention_kernel: int = 3,
        attention_mixing: str = "channels",
    ):
        super().__init__()
        if attention_form not in ATTENTION_FORMS:
            raise ValueError(f"attention_form must be one of {ATTENTION_FORMS}, got "
                             f"{attention_form!r}")
        self.attention_form = attention_form
        self.modalities = [m for m in MODALITIES if m in layout]
        if not self.modalities:
            raise ValueError("MAAN needs at least one modality (ecg, eeg, eda)")
        self.layout = {m: tuple(int(d) for d in layout[m]) for m in self.modalities}
        self.sizes = [int(np.prod(self.layout[m])) for m in self.modalities]
        encoders = {}
        for m in self.modalities:
            if m == "eeg":
                encoders[m] = UNetSE(2, self.layout[m][0], width)
            elif m == "ecg":
                encoders[m] = UNetSE(1, self.layout[m][0], width)
            else:
                encoders[m] = EDAEncoder(eda_width)
        self.encoders = nn.ModuleDict(encoders)
        channels = [self.encoders[m].out_channels for m in self.modalities]
        self.attention = (
            ModalityAttention(channels, attention_hidden, attention_kernel, attention_mixing)
            if attention and len(self.modalities) > 1 else None
        )
        self.classifier = classifier(sum(channels), tuple(int(h) for h in hidden))

    def split(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        parts = torch.split(x, self.sizes, dim=1)
        return {m: p.reshape(len(x), *self.layout[m]) for m, p in zip(self.modalities, parts,
                                                                      strict=True)}

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        """Fused feature vector (before the classifier) and the attention masks (or None)."""
        inputs = self.split(x)
        maps = [self.encoders[m](inputs[m]) for m in self.modalities]
        masks = self.attention(maps) if self.attention is not None else None
        if masks is not None:
            gain = (lambda a: 1.0 + a) if self.attention_form == "residual" else (lambda a: a)
            maps = [f * gain(a).view(*a.shape, *([1] * (f.dim() - 2)))
                    for f, a in zip(maps, masks, strict=True)]
        return torch.cat([f.flatten(2).mean(-1) for f in maps], dim=1), masks

    def forward(self, x: torch.Tensor, music: torch.Tensor | None = None) -> torch.Tensor:
        return self.classifier(self.features(x)[0])


def build_maan(experiment: dict, layout: dict[str, tuple[int, ...]]) -> MAAN:
    """A MAAN from a `maan.experiments` entry (modalities, attention) and config `maan.model`."""
    from edaffect.io.config_schema import schema_defaults

    model = {**schema_defaults("maan", "model"), **experiment.get("model_settings", {})}
    return MAAN(
        {m: layout[m] for m in experiment["modalities"]},
        attention=bool(experiment.get("attention", True)),
        width=int(model.get("width", 8)), eda_width=int(model.get("eda_width", 8)),
        hidden=tuple(model.get("hidden", (32,))),
        attention_hidden=int(model.get("attention_hidden", 4)),
        attention_form=str(model["attention_form"]),
        attention_kernel=int(model["attention_kernel"]),
        attention_mixing=str(model["attention_mixing"]),
    )
