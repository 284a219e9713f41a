"""k folds' copies of one network as one stacked model: their forward passes as grouped
convolutions and batched matrix products, their SGD steps as one, each fold's state apart."""


from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from edaffect.training.trainer import (
    TrainingSettings,
)


class FoldStack:
    """k models of identical structure as stacked parameters/buffers with per-fold SGD momentum."""

    def __init__(self, models: Sequence[nn.Module], device: torch.device):
        shapes = [[(n, tuple(t.shape)) for n, t in m.state_dict().items()] for m in models]
        if any(s != shapes[0] for s in shapes[1:]):
            raise ValueError("vectorised folds need models of identical structure")
        self.k = len(models)
        self.keys = list(models[0].state_dict().keys())
        params, buffers = stack_module_state([m.to(device) for m in models])
        self.params = {n: p.detach().requires_grad_(True) for n, p in params.items()}
        self.buffers = buffers
        self.momentum = {n: torch.zeros_like(p) for n, p in self.params.items()}
        self.template = copy.deepcopy(models[0]).to("meta")
        self.amp_on = False
        self._mixed_precision_hooks()

    def fold_state(self, f: int) -> dict:
        """Fold f's state_dict (CPU copies, the model's own key order)."""
        both = {**self.params, **self.buffers}
        return {k: both[k][f].detach().to("cpu", copy=True) for k in self.keys}

    def load_fold(self, f: int, state: dict, momentum: dict | None) -> None:
        with torch.no_grad():
            for n, t in {**self.params, **self.buffers}.items():
                t[f].copy_(state[n])
            for n, t in self.momentum.items():
                t[f].copy_(momentum[n] if momentum and n in momentum else torch.zeros_like(t[f]))

    def _mixed_precision_hooks(self) -> None:
        """Batch norm in float32 inside a bfloat16 forward (what autocast does for one model)."""
        self.norm_params = set()
        for name, module in self.template.named_modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.register_forward_pre_hook(
                    lambda _m, args: (args[0].float(), *args[1:]) if self.amp_on else None)
                module.register_forward_hook(
                    lambda _m, _a, out: out.to(torch.bfloat16) if self.amp_on else None)
                self.norm_params |= {f"{name}.{p}" if name else p
                                     for p, _ in module.named_parameters(recurse=False)}

    def forward(self, params: dict, buffers: dict, x, music, train: bool,
                amp: bool = False) -> torch.Tensor:
        """Logits (g, b, 2) of g folds' models on their own batches x (g, b, ...).

        amp: bfloat16 forward with float32 master weights.  torch.autocast does not reach
        convolutions inside vmap (they are decomposed before its dispatch key), so the
        vectorised path casts by itself: weights and inputs to bfloat16, batch norm in float32
        (its parameters and running statistics stay float32); the attention softmax runs in
        bfloat16 here, in float32 under autocast."""
        self.template.train(train)
        self.amp_on = bool(amp)
        if amp:
            params = {n: p.to(torch.bfloat16) if p.is_floating_point()
                      and n not in self.norm_params else p for n, p in params.items()}
            x = x.to(torch.bfloat16)
            music = None if music is None else music.to(torch.bfloat16)

        def one(p, b, xi, mi):
            return functional_call(self.template, (p, b), (xi, mi))

        if music is None:
            return vmap(lambda p, b, xi: one(p, b, xi, None), randomness="different")(
                params, buffers, x)
        return vmap(one, randomness="different")(params, buffers, x, music)

    def train_step(self, rows: list[int], x, y, music, settings: TrainingSettings, lr: float,
                   amp: bool) -> torch.Tensor:
        """One SGD step of folds `rows` on their batches x (g, b, ...), y (g, b); returns each
        fold's mean training loss (g,).  The other folds' weights and statistics do not move."""
        whole = rows == list(range(self.k))
        if whole:
            params, buffers = self.params, self.buffers
        else:
            index = torch.tensor(rows, device=x.device)
            params = {n: p.detach().index_select(0, index).requires_grad_(True)
                      for n, p in self.params.items()}
            buffers = {n: b.index_select(0, index) for n, b in self.buffers.items()}
        logits = self.forward(params, buffers, x, music, train=True, amp=amp)
        losses = nn.functional.cross_entropy(
            logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none"
        ).reshape(len(rows), -1).mean(dim=1)
        grads = torch.autograd.grad(losses.sum(), list(params.values()))
        self.sgd_step(rows, dict(zip(params, grads, strict=True)), settings, lr)
        if not whole:  # batch norm running statistics of the folds that moved
            with torch.no_grad():
                for n, b in self.buffers.items():
                    b.index_copy_(0, index, buffers[n])
        return losses.detach()

    def sgd_step(self, rows: list[int], grads: dict, settings: TrainingSettings, lr: float):
        """edaffect.training.sgd.MomentumSGD = torch.optim.SGD (momentum, weight decay, no
        dampening or
        Nesterov) on the given folds."""
        with torch.no_grad():
            whole = rows == list(range(self.k))
            for n, p in self.params.items():
                g = grads[n]
                if whole:
                    d = g.add(p, alpha=settings.weight_decay) if settings.weight_decay else g
                    buf = self.momentum[n]
                    buf.mul_(settings.momentum).add_(d)
                    p.add_(buf, alpha=-lr)
                else:
                    idx = torch.tensor(rows, device=p.device)
                    sub = p.index_select(0, idx)
                    d = g.add(sub, alpha=settings.weight_decay) if settings.weight_decay else g
                    buf = self.momentum[n].index_select(0, idx).mul_(settings.momentum).add_(d)
                    self.momentum[n].index_copy_(0, idx, buf)
                    p.index_copy_(0, idx, sub.add_(buf, alpha=-lr))
