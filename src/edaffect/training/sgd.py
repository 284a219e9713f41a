"""Momentum SGD and a step learning-rate schedule without `torch.optim`.

`torch.optim`'s first optimizer imports the compiler stack (`torch._dynamo`, ~2 s of start-up
in every training process; 60 such processes in the default study). Same arithmetic as
`torch.optim.SGD`'s single-tensor path (no dampening, no Nesterov) and as `StepLR`'s repeated
multiplication, and the same `state_dict` layout, so checkpoints stay interchangeable; both
are tested against torch.optim.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


class MomentumSGD:
    """p <- p - lr * buf, buf <- momentum * buf + (grad + weight_decay * p); buf starts as the
    first step's (grad + weight_decay * p), as in torch.optim.SGD."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0):
        self.params = list(params)
        self.lr, self.momentum, self.weight_decay = float(lr), float(momentum), float(weight_decay)
        self.buffers: list[torch.Tensor | None] = [None] * len(self.params)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            grad = p.grad.add(p, alpha=self.weight_decay) if self.weight_decay else p.grad
            if self.momentum:
                buf = self.buffers[i]
                if buf is None:
                    buf = self.buffers[i] = torch.clone(grad).detach()
                else:
                    buf.mul_(self.momentum).add_(grad)
                grad = buf
            p.add_(grad, alpha=-self.lr)

    def state_dict(self) -> dict:
        return sgd_state_dict(self.buffers, self.lr, self.momentum, self.weight_decay)

    def load_state_dict(self, state: dict) -> None:
        """Momentum buffers and lr from a state_dict of this class or of torch.optim.SGD."""
        group = state["param_groups"][0]
        if len(group["params"]) != len(self.params):
            raise ValueError(f"optimizer state has {len(group['params'])} parameters, the model "
                             f"{len(self.params)}")
        self.lr = float(group["lr"])
        self.buffers = [None] * len(self.params)
        for i, entry in state["state"].items():
            buf = entry.get("momentum_buffer")
            if buf is not None:
                self.buffers[int(i)] = buf.to(self.params[int(i)].device).clone()


def sgd_state_dict(buffers: list[torch.Tensor | None], lr: float, momentum: float,
                   weight_decay: float) -> dict:
    """torch.optim.SGD's state_dict layout: per-parameter momentum buffers (in parameter
    order), one parameter group."""
    return {
        "state": {i: {"momentum_buffer": b} for i, b in enumerate(buffers) if b is not None},
        "param_groups": [{
            "lr": lr, "momentum": momentum, "dampening": 0, "weight_decay": weight_decay,
            "nesterov": False, "maximize": False, "foreach": None, "differentiable": False,
            "fused": None, "params": list(range(len(buffers))),
        }],
    }


def step_lr(lr: float, step_size: int, gamma: float, epochs: int) -> list[float]:
    """lr in epoch e (index e - 1) and after e scheduler steps (index e), e = 0..epochs:
    x gamma every `step_size` steps by repeated multiplication (StepLR's floats)."""
    lrs = [float(lr)]
    for step in range(1, epochs + 1):
        lrs.append(lrs[-1] * gamma if step % step_size == 0 else lrs[-1])
    return lrs
