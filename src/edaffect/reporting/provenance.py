"""The one provenance line of every table and figure: which data (synthetic or real, how much,
where) and which configuration made it, named by one hash per run."""

from __future__ import annotations

import hashlib
import json

from edaffect.training.fold_runner import provenance_config


def config_hash(config: dict) -> str:
    """SHA-256 (first 12 hex digits) of the config's result-changing settings as sorted JSON.

    Runtime settings (threads, device, packing, ...) are left out first, so a table and a figure
    of one run carry the same hash whether they were given the full or the provenance config.
    """
    text = json.dumps(provenance_config(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def dataset_kind(config: dict, dataset: str) -> str:
    """"real" for a dataset read from the user's copy, else "SYNTHETIC"."""
    settings = config.get("datasets", {}).get(dataset, {})
    return "real" if settings.get("synthetic") is False else "SYNTHETIC"


def provenance_line(config: dict, sizes: dict[str, str | None]) -> str:
    """Table headers: `data: d = KIND (size, root R); ...; config sha256 H`.

    Parameters
    ----------
    config
        The run's config (full or provenance).
    sizes
        Per dataset, in order, what the table's numbers rest on ("45 test trials of 6
        subjects"), or None.

    Returns
    -------
    str
        The line, without a final full stop.
    """
    parts = []
    for dataset, size in sizes.items():
        root = config.get("datasets", {}).get(dataset, {}).get("root", "?")
        detail = f"{size}, root {root}" if size else f"root {root}"
        parts.append(f"{dataset} = {dataset_kind(config, dataset)} ({detail})")
    return f"data: {'; '.join(parts) or 'none'}; config sha256 {config_hash(config)}"


def data_line(config: dict, datasets: list[str]) -> str:
    """Figures' short form: synthetic or real per dataset, and the config hash."""
    kinds = [f"{d}: {dataset_kind(config, d)}" for d in datasets]
    return f"data {', '.join(kinds)}; config sha256 {config_hash(config)}"
