"""Res-SIN signal images (Yin et al., ICIP 2019, §2.3 "Data Preparation").

Each trial's origin, phasic and tonic (15 s cropped, cvxEDA: `ressin_components.write_components`)
are min-max normalised per channel; each channel of T seconds at `fs` Hz is rearranged into a
T x fs grey image (one second per row) and rescaled to `size` x `size` with bilinear
interpolation.  Random cropping and mean subtraction
are training-time steps: the crop lives in the network (`models.ressin.RandomCrop2d`), the
per-channel mean is the training fold's (`fold_mean` / `subtract_mean`).
"""

from __future__ import annotations

import logging

import numpy as np
import torch
import torch.nn.functional as F

log = logging.getLogger(__name__)

COMPONENTS = ("origin", "phasic", "tonic")
# Model input channels per experiment `input` (Res-SIN Table 2: single components or the mix).
INPUT_CHANNELS = {"origin": [0], "phasic": [1], "tonic": [2], "mix": [0, 1, 2]}


class SignalImageError(ValueError):
    """A trial that cannot become a signal image (too short, flat, non-finite)."""


def minmax(x: np.ndarray) -> np.ndarray:
    """(x - min) / (max - min) of one channel; a flat channel is an error (no image to make)."""
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise SignalImageError("channel has non-finite values")
    lo, hi = float(x.min()), float(x.max())
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        raise SignalImageError(f"channel is flat (min = max = {lo:.6g})")
    return (x - lo) / (hi - lo)


def signal_rows(x: np.ndarray, row_width: int) -> np.ndarray:
    """Rearrange a 1-D signal into a (T, row_width) grey image, one second per row.

    A trailing partial second is dropped (the paper's 50 * T samples).
    """
    n_rows = len(x) // row_width
    if n_rows < 2:
        raise SignalImageError(f"{len(x)} samples give fewer than 2 rows of {row_width}")
    return np.asarray(x[: n_rows * row_width], dtype=np.float64).reshape(n_rows, row_width)


def resize_bilinear(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear rescale of a 2-D image (half-pixel centres, as image libraries do)."""
    tensor = torch.as_tensor(np.ascontiguousarray(image), dtype=torch.float64)[None, None]
    out = F.interpolate(tensor, size=(height, width), mode="bilinear", align_corners=False)
    return out[0, 0].numpy()


def signal_to_image(x: np.ndarray, row_width: int, size: int) -> np.ndarray:
    """One min-max normalised channel -> (size, size) signal image."""
    return resize_bilinear(signal_rows(x, row_width), size, size)


def image_to_signal(image: np.ndarray, n_rows: int, row_width: int) -> np.ndarray:
    """Inverse of `signal_to_image` up to interpolation: back to n_rows x row_width, flattened.

    Used to check that the transform keeps the curve's shape (Res-SIN Fig. 3).
    """
    return resize_bilinear(image, n_rows, row_width).reshape(-1)


def trial_image(components: np.ndarray, fs: float, size: int) -> np.ndarray:
    """(3, N) origin/phasic/tonic -> (3, size, size) float32 image, each channel min-max."""
    row_width = int(round(fs))
    return np.stack([signal_to_image(minmax(c), row_width, size) for c in components]).astype(
        np.float32
    )


def build_images(
    components: dict[str, np.ndarray], fs: dict[str, float], size: int
) -> tuple[np.ndarray, list[str], list[dict]]:
    """(n, 3, size, size) float16 images in the order of `components`, their trial ids, and
    exclusion rows (flat channels, too few rows)."""
    images = np.empty((len(components), 3, size, size), dtype=np.float16)  # filled in place
    ids: list[str] = []
    excluded: list[dict] = []
    for trial_id, comp in components.items():
        try:
            images[len(ids)] = trial_image(comp, fs[trial_id], size)
            ids.append(trial_id)
        except SignalImageError as error:
            log.warning("trial %s has no Res-SIN image: %s", trial_id, error)
            excluded.append({"trial_id": trial_id, "stage": "ressin_images", "reason": str(error)})
    return images[: len(ids)], ids, excluded


def fold_mean(images: np.ndarray) -> np.ndarray:
    """Per-channel mean image value of the training fold, shape (C, 1, 1) (mean subtraction)."""
    return images.mean(axis=(0, 2, 3), dtype=np.float64).reshape(-1, 1, 1)


def subtract_mean(images: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """float32 images minus the training fold's per-channel mean."""
    return (images.astype(np.float32) - mean.astype(np.float32)).astype(np.float32)


def select_input(images: np.ndarray, input_name: str) -> np.ndarray:
    """The channels an experiment's `input` uses (origin, phasic, tonic, or all three)."""
    if input_name not in INPUT_CHANNELS:
        raise ValueError(
            f"Res-SIN input {input_name!r} is not one of {sorted(INPUT_CHANNELS)}"
        )
    return images[:, INPUT_CHANNELS[input_name]]
