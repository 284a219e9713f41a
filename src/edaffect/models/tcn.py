"""Temporal convolutional network for N-to-N continuous emotion (thesis ch. 3, eq. 3.1-3.3).

Stacked residual blocks, each two dilated 1-D convolutions (N_pair = 2) with weight norm, ReLU
and dropout, a 1x1 convolution on the skip path when the width changes, dilation 2^i in block i;
then a per-step linear regressor (eq. 3.3). `causal=True` pads on the left only (the thesis's
causal constraint); `causal=False` pads both sides, so step t also sees the next frames, which
EDA needs because the skin responds 1-3 s after the annotated emotion (docs/continuous.md).
Receptive field 1 + 2 (k - 1) sum(2^i), eq. 3.2 with N_pair = 2, N_stack = 1.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm


class TemporalBlock(nn.Module):
    """Two dilated convolutions + residual connection (thesis eq. 3.1)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, dilation: int, dropout: float,
                 causal: bool):
        super().__init__()
        self.pad = (kernel - 1) * dilation
        self.causal = causal
        self.conv1 = weight_norm(nn.Conv1d(c_in, c_out, kernel, dilation=dilation))
        self.conv2 = weight_norm(nn.Conv1d(c_out, c_out, kernel, dilation=dilation))
        self.drop = nn.Dropout(dropout)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def _padded(self, x: torch.Tensor) -> torch.Tensor:
        if self.causal:
            return nn.functional.pad(x, (self.pad, 0))
        left = self.pad // 2
        return nn.functional.pad(x, (left, self.pad - left), mode="replicate")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.drop(torch.relu(self.conv1(self._padded(x))))
        h = self.drop(torch.relu(self.conv2(self._padded(h))))
        return torch.relu(h + self.skip(x))


def look_ahead_frames(channels: int, kernel: int, causal: bool) -> int:
    """Future steps step t sees: 0 if causal, else each convolution's right padding summed."""
    if causal:
        return 0
    pads = [(kernel - 1) * 2**i for i in range(channels)]
    return sum(2 * (p - p // 2) for p in pads)  # two convolutions per block


class TCN(nn.Module):
    """(batch, time, features) -> (batch, time) regression."""

    def __init__(self, in_features: int, channels: list[int], kernel: int = 3,
                 dropout: float = 0.1, causal: bool = False):
        super().__init__()
        blocks, c_in = [], in_features
        for i, c_out in enumerate(channels):
            blocks.append(TemporalBlock(c_in, c_out, kernel, 2**i, dropout, causal))
            c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(c_in, 1)
        self.receptive_field = 1 + 2 * (kernel - 1) * sum(2**i for i in range(len(channels)))
        self.look_ahead = look_ahead_frames(len(channels), kernel, causal)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(x.transpose(1, 2)).transpose(1, 2)
        return self.head(h).squeeze(-1)


def ccc_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None
             ) -> torch.Tensor:
    """1 − CCC over all (unmasked) steps of the batch (thesis eq. 3.4)."""
    if mask is not None:
        pred, target = pred[mask], target[mask]
    mp, mt = pred.mean(), target.mean()
    cov = ((pred - mp) * (target - mt)).mean()
    denom = pred.var(unbiased=False) + target.var(unbiased=False) + (mp - mt) ** 2
    return 1.0 - 2.0 * cov / (denom + 1e-8)
