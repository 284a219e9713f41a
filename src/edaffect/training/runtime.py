"""Process-wide torch switches, set without side costs: `torch.use_deterministic_algorithms`
imports torch._inductor (~3 s per job, for a compiler this project never uses) to set its flag."""

from __future__ import annotations

import sys

import torch


def set_deterministic(mode: bool, *, warn_only: bool = False) -> None:
    """`torch.use_deterministic_algorithms(mode, warn_only=...)` without importing the inductor:
    its config flag is set only when some code has already imported it."""
    setter = getattr(torch._C, "_set_deterministic_algorithms", None)
    if setter is None:  # a torch without the private setter: the public call
        torch.use_deterministic_algorithms(mode, warn_only=warn_only)
        return
    setter(bool(mode), warn_only=bool(warn_only))
    inductor_config = sys.modules.get("torch._inductor.config")
    if inductor_config is not None:
        inductor_config.deterministic = bool(mode)
