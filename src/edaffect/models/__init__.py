"""Networks of the study: RTCAN-1D/RTCAG (`rtcan1d`), the 3-layer CNN (`cnn3`), Res-SIN (`ressin`).

`build_model` turns an experiment dict (`experiment_config(name)` of rules/common.smk) into a
module whose `forward(x, music=None)` returns logits (n, 2).
"""

from __future__ import annotations

import math

from torch import nn

from edaffect.models.cnn3 import CNN3
from edaffect.models.rtcan1d import MODULES, RNTA_POOL, RTCAN1D

__all__ = [
    "CNN3", "INITS", "MODULES", "RTCAN1D", "build_model", "count_parameters", "init_code",
    "init_normal", "initialise",
]

INITS = ("code", "normal", "pytorch")  # config training.init


def build_model(
    experiment: dict, in_channels: int, input_length: int, music_dim: int = 0
) -> nn.Module:
    """The experiment's network.  For `rtcan1d` music is fused only when the experiment asks for
    it and `music_dim` > 0 (datasets without music train RTCAG); for `cnn3` `input_length` is the
    number of hand-crafted features."""
    model = experiment.get("model")
    if model == "rtcan1d":
        return RTCAN1D(
            in_channels=int(in_channels),
            modules=experiment.get("modules", []),
            depth=int(experiment.get("depth", 1)),
            channels=[int(c) for c in experiment.get("channels", [64, 64, 64, 64])],
            music_dim=int(music_dim) if experiment.get("music") else 0,
            input_length=int(input_length),
            rnta_pool=int(experiment.get("rnta_pool", RNTA_POOL)),
        )
    if model == "cnn3":
        return CNN3(n_features=int(input_length), in_channels=int(in_channels))
    if model == "ressin":
        from edaffect.models.ressin import build_ressin

        return build_ressin(experiment, in_channels, input_length, music_dim)
    raise ValueError(
        f"experiment {experiment.get('name', '?')!r}: model {model!r} is not a network "
        "(known: rtcan1d, cnn3, ressin)"
    )


def init_normal(model: nn.Module, std: float) -> None:
    """Paper §5.1 initialisation: conv and linear weights ~ N(0, std), biases 0; batch norm
    scale 1, shift 0."""
    if not math.isfinite(std) or std <= 0:
        raise ValueError(f"init std must be a positive number, got {std}")
    for module in model.modules():
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            nn.init.normal_(module.weight, 0.0, std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


def init_code(model: nn.Module) -> None:
    """The original RTCAN-1D code's initialisation: conv weights He-normal with fan-out,
    std = sqrt(2 / (kernel x out_channels)); batch norm scale 1, shift 0; the rest PyTorch's."""
    for module in model.modules():
        if isinstance(module, (nn.Conv1d, nn.Conv2d)):
            fan_out = math.prod(module.kernel_size) * module.out_channels
            nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan_out))
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


def initialise(model: nn.Module, init: str, std: float | None = None) -> None:
    """Apply config `training.init`: code (`init_code`), normal (`init_normal` with `std`) or
    pytorch (the modules' own initialisation, left as built)."""
    if init == "code":
        init_code(model)
    elif init == "normal":
        if std is None:
            raise ValueError("training.init normal needs training.init_std")
        init_normal(model, float(std))
    elif init != "pytorch":
        raise ValueError(f"training.init must be one of {INITS}, got {init!r}")


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
