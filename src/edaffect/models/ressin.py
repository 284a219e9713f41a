"""Res-SIN (Yin et al., ICIP 2019): residual signal-image subnet + music fusion classifier.

The subnet is ResNet-18 in 2-D built from stacked units of a 3 x 3 convolution followed by ReLU
(batch norm after each convolution, as in ResNet-18, unless `batch_norm` is false), four stages
of two basic blocks with widths `channels` (paper: 64-128-256-512), no final FC layer: global
average pooling gives the EDA vector (512-d at paper widths).  The classifier concatenates it
with the z-scored music features (6,373 ComParE functionals) -> Linear(512) -> ReLU -> Linear(2).
"""

from __future__ import annotations

import torch
from torch import nn

# At or above this crop size the stem downsamples 4x (stride-2 conv + max-pool) as ResNet-18
# does on ImageNet; smaller images keep full resolution (CIFAR-style stem).
IMAGENET_STEM_MIN_SIZE = 112
PAPER_CHANNELS = (64, 128, 256, 512)
CLASSIFIER_HIDDEN = 512


def default_crop_size(image_size: int) -> int:
    """Random-crop size when the config gives none: 7/8 of the image side (224 -> 196)."""
    return max(8, int(round(image_size * 7 / 8)))


class RandomCrop2d(nn.Module):
    """Training-time random crop of each image to `size` x `size`; centre crop in eval mode.

    Lives in the network so that the shared training loop needs no augmentation hook; the
    crop offsets come from torch's global generator (seeded by the training loop).
    """

    def __init__(self, size: int):
        super().__init__()
        self.size = int(size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        if height < self.size or width < self.size:
            raise ValueError(f"image {height}x{width} is smaller than the crop {self.size}")
        if height == self.size and width == self.size:
            return x
        if not self.training:
            top, left = (height - self.size) // 2, (width - self.size) // 2
            return x[..., top : top + self.size, left : left + self.size]
        tops = torch.randint(0, height - self.size + 1, (x.shape[0],))
        lefts = torch.randint(0, width - self.size + 1, (x.shape[0],))
        rows = (tops[:, None] + torch.arange(self.size)).to(x.device)  # (n, size)
        cols = (lefts[:, None] + torch.arange(self.size)).to(x.device)
        batch = torch.arange(x.shape[0], device=x.device)[:, None, None]
        # x[b, :, rows[b, i], cols[b, j]] for every sample b
        cropped = x.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
        return cropped.permute(0, 3, 1, 2).contiguous()


def conv_unit(in_ch: int, out_ch: int, stride: int, batch_norm: bool, relu: bool) -> nn.Sequential:
    """A 3 x 3 convolution (+ batch norm) (+ ReLU): the paper's stacked unit."""
    layers: list[nn.Module] = [
        nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=not batch_norm)
    ]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_ch))
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class BasicBlock2d(nn.Module):
    """ResNet basic block: two 3 x 3 units and an identity (or 1 x 1 projection) shortcut."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, batch_norm: bool):
        super().__init__()
        self.body = nn.Sequential(
            conv_unit(in_ch, out_ch, stride, batch_norm, relu=True),
            conv_unit(out_ch, out_ch, 1, batch_norm, relu=False),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            shortcut: list[nn.Module] = [nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False)]
            if batch_norm:
                shortcut.append(nn.BatchNorm2d(out_ch))
            self.shortcut = nn.Sequential(*shortcut)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class ResSISubnet(nn.Module):
    """Residual signal-image subnet: images (n, C, S, S) -> EDA vector (n, channels[-1])."""

    def __init__(
        self,
        in_channels: int,
        crop_size: int,
        channels: tuple[int, ...] = PAPER_CHANNELS,
        blocks_per_stage: int = 2,
        batch_norm: bool = True,
    ):
        super().__init__()
        imagenet_stem = crop_size >= IMAGENET_STEM_MIN_SIZE
        stem: list[nn.Module] = [
            conv_unit(in_channels, channels[0], 2 if imagenet_stem else 1, batch_norm, relu=True)
        ]
        if imagenet_stem:
            stem.append(nn.MaxPool2d(3, stride=2, padding=1))
        self.stem = nn.Sequential(*stem)
        stages: list[nn.Module] = []
        in_ch = channels[0]
        for index, out_ch in enumerate(channels):
            for block in range(blocks_per_stage):
                stride = 2 if (index > 0 and block == 0) else 1
                stages.append(BasicBlock2d(in_ch, out_ch, stride, batch_norm))
                in_ch = out_ch
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.out_dim = in_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.stages(self.stem(x))).flatten(1)


class ResSIN(nn.Module):
    """Random crop -> Res-SI subnet -> [EDA vector, music] -> 512 -> ReLU -> 2 logits."""

    def __init__(
        self,
        in_channels: int,
        image_size: int,
        music_dim: int = 0,
        crop_size: int | None = None,
        channels: tuple[int, ...] = PAPER_CHANNELS,
        batch_norm: bool = True,
        hidden: int = CLASSIFIER_HIDDEN,
    ):
        super().__init__()
        crop_size = int(crop_size) if crop_size else default_crop_size(image_size)
        if crop_size > image_size:
            raise ValueError(f"crop_size {crop_size} exceeds image_size {image_size}")
        self.music_dim = int(music_dim)
        self.crop = RandomCrop2d(crop_size)
        self.subnet = ResSISubnet(in_channels, crop_size, tuple(channels), batch_norm=batch_norm)
        self.classifier = nn.Sequential(
            nn.Linear(self.subnet.out_dim + self.music_dim, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, 2),
        )

    def eda_vector(self, x: torch.Tensor) -> torch.Tensor:
        """The subnet's EDA feature vector (no FC layer), e.g. 512-d at paper widths."""
        return self.subnet(self.crop(x))

    def forward(self, x: torch.Tensor, music: torch.Tensor | None = None) -> torch.Tensor:
        features = self.eda_vector(x)
        if self.music_dim:
            if music is None or music.shape[-1] != self.music_dim:
                got = None if music is None else tuple(music.shape)
                raise ValueError(
                    f"Res-SIN was built for {self.music_dim} music features, got {got}"
                )
            features = torch.cat([features, music.to(features.dtype)], dim=1)
        return self.classifier(features)


def build_ressin(
    experiment: dict, in_channels: int, input_length: int, music_dim: int = 0
) -> ResSIN:
    """Res-SIN from an experiment dict (keys channels, crop_size, batch_norm, music);
    `input_length` is the image side.  Music is fused only when the experiment asks for it."""
    channels = experiment.get("channels") or PAPER_CHANNELS
    return ResSIN(
        in_channels=in_channels,
        image_size=int(input_length),
        music_dim=int(music_dim) if experiment.get("music") else 0,
        crop_size=experiment.get("crop_size"),
        channels=tuple(int(c) for c in channels),
        batch_norm=bool(experiment.get("batch_norm", True)),
    )
