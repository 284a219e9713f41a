"""Grad-CAM for 1-D signals (Selvaraju et al. 2017), as used in the paper's §5.3.3 (Figs. 5–8).

Works on any `torch.nn.Module` whose forward is `model(x)` or `model(x, music)` with `x` of shape
(n, C, L) and logits (n, n_classes), and a named layer whose output is a (n, C', L') feature map
(the paper starts from the output of each attention submodule). The class-activation map is
upsampled to the input length L; the guided variant also maps it onto the C input channels
(EDA, phasic, tonic) by guided back-propagation to the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

ATTENTION_KEYWORDS = ("rnta", "sca", "attention", "attn")


@dataclass
class GradCam1D:
    """One trial's Grad-CAM: `cam` (L,) and guided per-channel `channel_map` (C, L), in [0, 1]."""

    cam: np.ndarray
    channel_map: np.ndarray
    layer: str
    class_index: int
    probability: float


def _first_tensor(output):
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)):
        for item in output:
            if isinstance(item, torch.Tensor):
                return item
    return None


def _forward(model: nn.Module, x: torch.Tensor, music: torch.Tensor | None) -> torch.Tensor:
    return model(x) if music is None else model(x, music)


def feature_map_layers(
    model: nn.Module, x: torch.Tensor, music: torch.Tensor | None = None
) -> list[str]:
    """Names of the modules that output a (n, C', L' > 1) feature map, in the order they finish."""
    order: list[str] = []
    handles = []
    for name, module in model.named_modules():
        if not name:
            continue

        def hook(_module, _inputs, output, name=name):
            tensor = _first_tensor(output)
            if (
                tensor is not None
                and tensor.dim() == 3
                and tensor.shape[0] == x.shape[0]  # not clips stacked on the batch axis
                and tensor.shape[-1] > 1  # not pooled channel weights
                and name not in order
            ):
                order.append(name)

        handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            _forward(model, x, music)
    finally:
        for handle in handles:
            handle.remove()
    return order


def default_target_layer(
    model: nn.Module,
    x: torch.Tensor,
    music: torch.Tensor | None = None,
    prefer: Sequence[str] = ATTENTION_KEYWORDS,
) -> str:
    """The first attention submodule (in forward order) with a temporal feature map, else the
    last feature-map layer (classic Grad-CAM).

    Follows the paper: Grad-CAM starts "from the output layer of each attention submodule"; the
    first one has the finest time resolution (e.g. RTCAN-1D: `attention` for SCA/RNTA on the
    shallow features, `rfe.blocks.0.sca_res` when only SCA_Res is on).
    """
    layers = feature_map_layers(model, x, music)
    if not layers:
        raise ValueError(f"{type(model).__name__} has no layer with a (n, C, L) output")
    hits = [
        name for name in layers
        if any(keyword in name.split(".")[-1].lower() for keyword in prefer)
    ]
    # Outermost attention blocks only (RTCAN-1D's `attention` runs its SCA once per clip).
    hits = [h for h in hits if not any(h.startswith(other + ".") for other in hits)]
    return hits[0] if hits else layers[-1]


class _GuidedReLU:
    """Context: nn.ReLU modules pass only positive gradients (guided back-propagation)."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.handles: list = []
        self.inplace: list[tuple[nn.ReLU, bool]] = []

    def __enter__(self):
        for module in self.model.modules():
            if isinstance(module, nn.ReLU):
                self.inplace.append((module, module.inplace))
                module.inplace = False
                self.handles.append(
                    module.register_full_backward_hook(
                        lambda _m, grad_in, _grad_out: tuple(
                            None if g is None else g.clamp(min=0) for g in grad_in
                        )
                    )
                )
        return self

    def __exit__(self, *exc):
        for handle in self.handles:
            handle.remove()
        for module, inplace in self.inplace:
            module.inplace = inplace


def _normalise(values: np.ndarray) -> np.ndarray:
    top = float(np.max(values)) if values.size else 0.0
    return values / top if top > 0 else np.zeros_like(values)


def grad_cam_1d(
    model: nn.Module,
    x: np.ndarray | torch.Tensor,
    target_layer: str,
    *,
    class_index: int | None = None,
    music: np.ndarray | torch.Tensor | None = None,
) -> GradCam1D:
    """Grad-CAM of one input `x` (C, L) at `target_layer` for `class_index` (default: predicted).

    cam(t) = ReLU(Σ_k α_k A_k(t)), α_k = mean_t ∂y_c/∂A_k(t), linearly upsampled to L and scaled
    to max 1. channel_map = cam(t) · guided ∂y_c/∂x_c(t) (positive part), scaled to max 1.
    """
    modules = dict(model.named_modules())
    if target_layer not in modules:
        raise ValueError(
            f"layer {target_layer!r} not found in {type(model).__name__}; "
            f"feature-map layers: {[n for n in modules if n][:20]}"
        )
    x = torch.as_tensor(np.asarray(x, dtype=np.float32) if not torch.is_tensor(x) else x)
    if x.dim() != 2:
        raise ValueError(f"x must be one trial of shape (C, L), got {tuple(x.shape)}")
    x = x.detach().float().unsqueeze(0)
    if music is not None:
        music = torch.as_tensor(np.asarray(music, dtype=np.float32)).reshape(1, -1)
    captured: dict[str, torch.Tensor] = {}

    def hook(_module, _inputs, output):
        tensor = _first_tensor(output)
        if tensor is None or tensor.dim() != 3:
            raise ValueError(f"layer {target_layer!r} output is not a (n, C, L) feature map")
        if "activation" in captured:
            raise ValueError(
                f"layer {target_layer!r} runs more than once per forward pass (e.g. once per "
                "clip); choose the block that contains it"
            )
        tensor.retain_grad()
        captured["activation"] = tensor

    was_training = model.training
    model.eval()
    try:
        # Pass 1, plain gradients: the class-activation map at the target layer.
        handle = modules[target_layer].register_forward_hook(hook)
        try:
            with torch.enable_grad():
                logits = _forward(model, x, music)
                if logits.dim() != 2 or logits.shape[0] != 1:
                    raise ValueError(f"model must return logits (1, n_classes), got {logits.shape}")
                probs = torch.softmax(logits, dim=1)[0].detach()
                index = int(torch.argmax(probs)) if class_index is None else int(class_index)
                model.zero_grad(set_to_none=True)
                logits[0, index].backward()
        finally:
            handle.remove()
        # Pass 2, guided back-propagation down to the input channels.
        x_in = x.clone().requires_grad_(True)
        with _GuidedReLU(model), torch.enable_grad():
            model.zero_grad(set_to_none=True)
            _forward(model, x_in, music)[0, index].backward()
        model.zero_grad(set_to_none=True)
    finally:
        model.train(was_training)
    activation = captured["activation"]
    grad = activation.grad
    if grad is None:
        raise ValueError(f"no gradient reached layer {target_layer!r}: is it used for the output?")
    weights = grad[0].mean(dim=-1)  # (C',)
    cam = torch.relu((weights[:, None] * activation[0].detach()).sum(dim=0))
    length = x.shape[-1]
    cam = F.interpolate(cam[None, None], size=length, mode="linear", align_corners=False)[0, 0]
    cam_np = _normalise(cam.numpy().astype(np.float64))
    guided = x_in.grad[0].clamp(min=0).numpy().astype(np.float64)
    channel_map = _normalise(guided * cam_np[None, :])
    return GradCam1D(cam_np, channel_map, target_layer, index, float(probs[index]))
