"""The paper's 3-layer CNN baseline (§5.2.1) on the 128 hand-crafted EDA features.

The feature vector is read as a 1-channel sequence; each of the three layers is RTCAG's shallow
convolution layer (1-D conv, kernel 7, stride 2, + batch norm), followed by ReLU.  The last
feature map is flattened (feature positions are not interchangeable, so no global pooling) and a
linear layer gives the 2 logits.
"""

from __future__ import annotations

import torch
from torch import nn

from edaffect.models.rtcan1d import N_CLASSES, SHALLOW_KERNEL

N_LAYERS = 3


def _out_length(length: int, n_layers: int = N_LAYERS) -> int:
    for _ in range(n_layers):
        length = (length + 2 * (SHALLOW_KERNEL // 2) - SHALLOW_KERNEL) // 2 + 1
    return length


class CNN3(nn.Module):
    """Three shallow conv layers (conv k7 s2 + BN + ReLU) -> flatten -> Linear -> 2 logits."""

    def __init__(self, n_features: int, in_channels: int = 1, width: int = 64):
        super().__init__()
        if n_features < 1:
            raise ValueError(f"CNN3 needs at least one input feature, got {n_features}")
        self.in_channels = in_channels
        self.n_features = n_features
        layers: list[nn.Module] = []
        current = in_channels
        for _ in range(N_LAYERS):
            layers += [
                nn.Conv1d(current, width, SHALLOW_KERNEL, stride=2, padding=SHALLOW_KERNEL // 2),
                nn.BatchNorm1d(width),
                nn.ReLU(inplace=True),
            ]
            current = width
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(width * _out_length(n_features), N_CLASSES)

    def forward(self, x: torch.Tensor, music: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() == 2:  # (n, F) feature table -> (n, 1, F)
            x = x.unsqueeze(1)
        if x.shape[1:] != (self.in_channels, self.n_features):
            raise ValueError(
                f"CNN3 expects (n, {self.n_features}) or (n, {self.in_channels}, "
                f"{self.n_features}) inputs, got {tuple(x.shape)}"
            )
        return self.classifier(self.features(x).flatten(1))
