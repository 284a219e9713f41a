"""The thesis's LSTM classifier (ch. 4, Fig. 4.2) for per-frame 3-class labels.

Two LSTM layers with d/2 and d/4 units (d = input features; at least 2 each), a linear layer
with d/4 units, and a 3-way linear output (softmax in the loss); dropout 0.4 after both LSTM
layers and the first linear layer. Padded sequences are packed before the LSTMs and the loss is
masked (`masked_cross_entropy`), so padding never reaches the gradient (thesis §4.3).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class ThesisLSTM(nn.Module):
    """(batch, time, d) padded + lengths -> (batch, time, 3) logits."""

    def __init__(self, in_features: int, dropout: float = 0.4, n_classes: int = 3):
        super().__init__()
        h1 = max(2, in_features // 2)
        h2 = max(2, in_features // 4)
        self.lstm1 = nn.LSTM(in_features, h1, batch_first=True)
        self.lstm2 = nn.LSTM(h1, h2, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(h2, h2)
        self.out = nn.Linear(h2, n_classes)

    def _run(self, lstm: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = lstm(packed)
        return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0]

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h = self.drop(self._run(self.lstm1, x, lengths))
        h = self.drop(self._run(self.lstm2, h, lengths))
        h = self.drop(torch.relu(self.fc(h)))
        return self.out(h)


def masked_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor
                         ) -> torch.Tensor:
    """Mean cross-entropy over the unpadded steps only."""
    return nn.functional.cross_entropy(logits[mask], labels[mask])


class ParallelThesisLSTM(nn.Module):
    """K independent ThesisLSTMs trained at once (the refined-labels sweep): one nn.LSTM per layer
    with block-diagonal weights, K blocks of the single model's size, kept block-diagonal by
    masking the initial weights and every gradient. Each block is initialised as the single
    model (uniform ±1/sqrt(fan-in of the block)), so block k is exactly a ThesisLSTM; summing the
    K losses gives each block its own gradient, and Adam's per-element updates keep them apart.
    (batch, time, d) + lengths -> (batch, time, K, 3) logits."""

    def __init__(self, in_features: int, k_models: int, dropout: float = 0.4, n_classes: int = 3):
        super().__init__()
        self.k, self.d, self.n_classes = k_models, in_features, n_classes
        self.h1 = max(2, in_features // 2)
        self.h2 = max(2, in_features // 4)
        k, d, h1, h2 = k_models, in_features, self.h1, self.h2
        self.lstm1 = nn.LSTM(k * d, k * h1, batch_first=True)
        self.lstm2 = nn.LSTM(k * h1, k * h2, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(k * h2, k * h2)
        self.out = nn.Linear(k * h2, k * n_classes)
        self.block_masks: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            for name, p in self.named_parameters():
                owner = self._owner(name, p.shape)  # (k,) + shape: model index of each entry
                bound = self._bound(name)
                p.uniform_(-bound, bound)
                if p.dim() == 2:
                    mask = owner[0] == owner[1]
                    p.mul_(mask)
                    self.block_masks[name] = mask
                    p.register_hook(lambda g, m=mask: g * m)

    def _bound(self, name: str) -> float:
        """The single model's init bound: 1/sqrt(hidden) for LSTMs, 1/sqrt(fan-in) for Linear."""
        if name.startswith("lstm1"):
            return 1.0 / self.h1**0.5
        return 1.0 / self.h2**0.5

    def _owner(self, name: str, shape: torch.Size):
        """Model index of every row (gate unit / output) and column (input) of a parameter."""
        k = self.k
        sizes = {"lstm1": (self.h1, self.d, self.h1), "lstm2": (self.h2, self.h1, self.h2),
                 "fc": (self.h2, self.h2, None), "out": (self.n_classes, self.h2, None)}
        layer = name.split(".")[0]
        rows_per, in_per, hid_per = sizes[layer]
        if layer.startswith("lstm"):  # rows: 4 gates (i, f, g, o), each K blocks of `rows_per`
            rows = torch.arange(shape[0]) % (k * rows_per) // rows_per
            cols_per = in_per if "ih" in name else hid_per
        else:
            rows = torch.arange(shape[0]) // rows_per
            cols_per = in_per
        if len(shape) == 1:
            return (rows,)
        cols = torch.arange(shape[1]) // cols_per
        return rows[:, None].expand(shape), cols[None, :].expand(shape)

    def load_single(self, j: int, single: ThesisLSTM) -> None:
        """Copy a ThesisLSTM's weights into block j (tests: the blocks are single models)."""
        with torch.no_grad():
            for name, p in self.named_parameters():
                src = dict(single.named_parameters())[name]
                owner = self._owner(name, p.shape)
                sel = (owner[0] == j) & (owner[1] == j) if p.dim() == 2 else owner[0] == j
                p[sel] = src.reshape(-1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        n, t, _ = x.shape
        h, _ = self.lstm1(x.repeat(1, 1, self.k))
        h, _ = self.lstm2(self.drop(h))
        h = self.drop(torch.relu(self.fc(self.drop(h))))
        return self.out(h).reshape(n, t, self.k, self.n_classes)
