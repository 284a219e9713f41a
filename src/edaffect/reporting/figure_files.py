"""Writing a finished matplotlib figure: one helper so that every figure rule lays out, writes
(kill-safe) and closes its figure the same way."""

from __future__ import annotations

from pathlib import Path

from edaffect.io import atomic


def save_figure(fig, png: str | Path, pdf: str | Path, *, dpi: int,
                tight_bbox: bool = False) -> None:
    """Tight layout (or, with `tight_bbox`, the saved area cropped to the drawn content), then
    `png` (at `dpi`) and `pdf`, each written to a temporary file and renamed; the figure is
    closed (its memory freed) afterwards."""
    import matplotlib.pyplot as plt

    crop = {"bbox_inches": "tight"} if tight_bbox else {}
    if not tight_bbox:
        fig.tight_layout()
    for path, options in ((png, {"format": "png", "dpi": dpi}), (pdf, {"format": "pdf"})):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with atomic.atomic_open(path, "wb") as handle:
            fig.savefig(handle, **options, **crop)
    plt.close(fig)
