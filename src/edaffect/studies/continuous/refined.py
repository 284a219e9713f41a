"""Refined 3-class labels (thesis ch. 4 adapted to EDA + music on PMEmo).

Fixed trial class C: the listener's own static rating of the dimension in per-listener terciles
(`continuous.three_class`; why: PMEmo has no emotion tags, and per-listener terciles remove each
listener's use of the scale as the per-subject k-means of the main study does, with chance 1/3).
Per fold and dimension the thesis's LSTM (edaffect.models.lstm) is trained on per-frame window
features (+ music components) with (a) C on every frame and (b) the refined labels of eq. 4.1-4.2
on the frame's dynamic annotation on the thesis's [−1, 1] scale (2 (y − 0.5)), for every s in
`s_values` and τ in `tau_grid(s, tau_step)`;
early stopping on the validation loss (with the same kind of labels); τ (and, in the last row,
s) chosen by validation accuracy against C only; test accuracy against C, frame-weighted.
Padding: sequences are right-padded and the loss is masked; a one-directional LSTM's outputs at
the valid steps do not depend on the padding after them, so no packing is needed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from edaffect.studies.continuous.frames import (
    FoldFrames,
    fold_frames,
    load_frames,
    refined_frame_labels,
    tau_grid,
    three_class,
)
from edaffect.training.run_files import write_run_files

log = logging.getLogger(__name__)
EXPERIMENT = "refined_lstm"


@dataclass
class RefinedSettings:
    """config.yaml `continuous.refined`."""

    dimensions: list[str]
    s_values: list[float]
    tau_step: float
    epochs: int
    patience: int
    lr: float
    batch_size: int
    dropout: float
    music_components: int
    device: str

    @classmethod
    def from_sections(cls, settings: dict, device: str) -> RefinedSettings:
        """From the fold runner's result settings (continuous.refined, .music_components)."""
        r = settings["continuous.refined"]
        return cls(
            dimensions=list(r["dimensions"]), s_values=[float(s) for s in r["s_values"]],
            tau_step=float(r["tau_step"]), epochs=int(r["epochs"]), patience=int(r["patience"]),
            lr=float(r["lr"]), batch_size=int(r["batch_size"]), dropout=float(r["dropout"]),
            music_components=int(settings["continuous.music_components"]), device=device,
        )


def _padded(fold: FoldFrames, labels: list[np.ndarray]):
    """(x (n, T, F), labels (n, T), mask (n, T), lengths (n,)) right-padded with zeros."""
    lengths = np.array([len(y) for y in fold.y])
    n, t_max, f = len(lengths), int(lengths.max()), fold.feat[0].shape[1]
    x = np.zeros((n, t_max, f), dtype=np.float32)
    lab = np.zeros((n, t_max), dtype=np.int64)
    for i, (xi, li) in enumerate(zip(fold.feat, labels, strict=True)):
        x[i, : len(li)] = xi
        lab[i, : len(li)] = li
    mask = np.arange(t_max)[None, :] < lengths[:, None]
    return x, lab, mask, lengths


class _Trainer:
    """Trains ThesisLSTMs on one fold's fixed features (tensors built once, reused per (s, τ))."""

    def __init__(self, data: dict[str, FoldFrames], classes: dict[str, int],
                 settings: RefinedSettings):
        import torch

        from edaffect.training.trainer import resolve_device

        self.torch = torch
        self.settings = settings
        self.device = resolve_device(settings.device)
        self.data = data
        self.fixed = {r: [np.full(len(y), classes[t], dtype=np.int64)
                          for t, y in zip(data[r].trial_id, data[r].y, strict=True)]
                      for r in data}
        self.tensors = {}
        for role, fold in data.items():
            x, lab, mask, lengths = _padded(fold, self.fixed[role])
            self.tensors[role] = tuple(
                torch.from_numpy(a).to(self.device) for a in (x, lab, mask, lengths)
            )

    def labels(self, role: str, s: float | None, tau: float | None):
        """Per-frame label tensor of a role: fixed C, or refined (s, τ)."""
        if s is None:
            return self.tensors[role][1]
        fold = self.data[role]
        refined = [refined_frame_labels(y, int(c[0]), s, tau)
                   for y, c in zip(fold.y, self.fixed[role], strict=True)]
        return self.torch.from_numpy(_padded(fold, refined)[1]).to(self.device)

    def fit_many(self, seed: int, configs: list[tuple[float, float] | None]) -> list[dict]:
        """Train one LSTM per config ((s, τ), or None for the fixed labels) at once
        (ParallelThesisLSTM: K independent models), each with its own early stopping on its
        validation loss; accuracy of each chosen model vs C on val and test."""
        torch = self.torch
        from edaffect.models.lstm import ParallelThesisLSTM

        st = self.settings
        k = len(configs)
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        x, _, mask, lengths = self.tensors["train"]
        xv, _, mv, lv = self.tensors["val"]
        y = torch.stack([self.labels("train", *(c or (None, None))) for c in configs])
        yv = torch.stack([self.labels("val", *(c or (None, None))) for c in configs])
        model = ParallelThesisLSTM(x.shape[2], k, st.dropout).to(self.device)
        opt = torch.optim.Adam(model.parameters(), lr=st.lr)
        best = np.full(k, np.inf)
        since = np.zeros(k, dtype=int)
        stopped = np.zeros(k, dtype=bool)
        epochs_run = np.zeros(k, dtype=int)
        best_state = {n: p.detach().clone() for n, p in model.named_parameters()}
        owners = {n: model._owner(n, p.shape) for n, p in model.named_parameters()}

        def losses(logits, labels, m):  # (K,) mean cross-entropy over each model's valid frames
            ce = torch.nn.functional.cross_entropy(
                logits.permute(0, 3, 1, 2), labels.permute(1, 2, 0), reduction="none"
            )  # (N, T, K)
            m = m[:, :, None].float()
            return (ce * m).sum((0, 1)) / m.sum((0, 1))

        for epoch in range(1, st.epochs + 1):
            model.train()
            order = torch.from_numpy(rng.permutation(x.shape[0])).to(self.device)
            for start in range(0, len(order), st.batch_size):
                idx = order[start:start + st.batch_size]
                loss = losses(model(x[idx]), y[:, idx], mask[idx]).sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
            model.eval()
            with torch.no_grad():
                val = losses(model(xv), yv, mv).cpu().numpy()
            improved = (val < best - 1e-6) & ~stopped
            epochs_run[~stopped] = epoch
            since[~stopped & ~improved] += 1
            since[improved] = 0
            best[improved] = val[improved]
            if improved.any():
                sel = torch.from_numpy(np.flatnonzero(improved)).to(self.device)
                for name, p in model.named_parameters():
                    rows = torch.isin(owners[name][0].to(self.device), sel)
                    best_state[name][rows] = p.detach()[rows]
            stopped |= since >= st.patience
            if stopped.all():
                break
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(best_state[name])
        model.eval()
        self.last_state = {n: p.detach().cpu().clone() for n, p in model.state_dict().items()}
        out = [{"epochs_run": int(epochs_run[j]), "val_loss": float(best[j])} for j in range(k)]
        self.last_test_pred = []
        for role in ("val", "test"):
            xr, fixed, mr, lr = self.tensors[role]
            with torch.no_grad():
                pred = model(xr).argmax(-1)  # (N, T, K)
            for j in range(k):
                pj = pred[:, :, j][mr]
                out[j][f"{role}_accuracy"] = float((pj == fixed[mr]).float().mean())
                if role == "test":
                    self.last_test_pred.append(pj.cpu().numpy())
        return out


def refined_fold(
    frames, fold: dict[str, list[str]], dimension: str, classes: dict[str, int],
    settings: RefinedSettings, seed: int, music_csv: str | Path | None,
) -> tuple[dict, pd.DataFrame, dict]:
    """Baseline (a) and the (s, τ) sweep (b) on one fold: (metrics incl. the sweep rows,
    test predictions of (a) and of each s at its validation-chosen τ, baseline model state)."""
    from edaffect.training.trainer import fold_seed

    data = fold_frames(frames, fold, dimension, music_csv, settings.music_components)
    trainer = _Trainer(data, classes, settings)
    start = time.perf_counter()
    configs = [None] + [(s, float(tau)) for s in settings.s_values
                        for tau in tau_grid(s, settings.tau_step)]
    results = trainer.fit_many(fold_seed(seed, "sweep"), configs)
    base = results[0]
    test = data["test"]
    lengths = [len(y) for y in test.y]
    predictions = pd.DataFrame({
        "trial_id": np.repeat(test.trial_id, lengths),
        "subject": np.repeat(test.subject, lengths),
        "frameTime": np.concatenate(test.frame_time),
        "y_true": np.concatenate(trainer.fixed["test"]),
        "y_pred": trainer.last_test_pred[0],
    })
    rows = [{"s": c[0], "tau": c[1], **r} for c, r in zip(configs[1:], results[1:], strict=True)]
    sweep = pd.DataFrame(rows)
    for s, part in sweep.groupby("s"):
        best = int(part["val_accuracy"].idxmax()) + 1  # + 1: results[0] is the baseline
        predictions[f"y_pred_s{s:.2f}"] = trainer.last_test_pred[best]
    state = {"state_dict": {k: v.cpu() for k, v in trainer.last_state.items()},
             "configs": configs}
    train_classes = np.bincount([classes[t] for t in data["train"].trial_id], minlength=3)
    metrics = {
        "model": "refined_lstm", "dimension": dimension,
        "baseline_val_accuracy": base["val_accuracy"],
        "baseline_test_accuracy": base["test_accuracy"],
        "baseline_epochs_run": base["epochs_run"],
        "n_train": len(data["train"].trial_id), "n_val": len(data["val"].trial_id),
        "n_test": len(test.trial_id), "n_test_frames": test.n_frames,
        "train_class_counts": train_classes.tolist(), "n_fits": 1 + len(rows),
        "train_seconds": round(time.perf_counter() - start, 3), "seed": seed,
        "device": trainer.device.type, "sweep": rows,
    }
    return metrics, predictions, state


def trial_classes(trials_csv: str | Path, dimension: str) -> dict[str, int]:
    """trial_id -> fixed 3-class label (per-listener terciles of the static rating)."""
    trials = pd.read_csv(trials_csv, dtype={"trial_id": str, "subject": str})
    classes = three_class(trials[dimension], trials["subject"])
    return dict(zip(trials["trial_id"], classes, strict=True))


def train_folds(job) -> list[dict]:
    """Fold-runner trainer (family refined_lstm): every fold of the job; metrics.json holds the
    baseline and the whole (s, τ) sweep, predictions.csv the test frames' fixed class and the
    predictions of (a) and of each s at its chosen τ, model.pt the K models (block-diagonal)."""
    import torch

    from edaffect.studies.continuous.fit import job_folds
    from edaffect.training.runtime import set_deterministic

    torch.set_num_threads(max(1, int(job.threads)))
    set_deterministic(True, warn_only=True)
    settings = RefinedSettings.from_sections(job.settings, job.device)
    exp = job.experiment
    frames = load_frames(job.inputs["frames"])
    music = job.inputs.get("music_features_csv") if exp.get("music") else None
    classes = trial_classes(job.inputs["trials_csv"], job.dimension)
    out = []
    for k, run_dir, run_seed, roles in job_folds(job):
        metrics, predictions, state = refined_fold(
            frames, roles, job.dimension, classes, settings, run_seed, music
        )
        metrics = {"experiment": exp["name"], "dataset": job.dataset, "fold": k, **metrics}
        write_run_files(run_dir, metrics, predictions, state)
        log.info("%s %s fold %d: baseline %.3f, %d fits in %.1f s", exp["name"], job.dimension,
                 k, metrics["baseline_test_accuracy"], metrics["n_fits"],
                 metrics["train_seconds"])
        out.append(metrics)
    return out


def _family():
    from edaffect.studies.continuous.fit import fold_inputs
    from edaffect.training.fold_runner import ModelFamily

    return ModelFamily("refined_lstm", fold_inputs,
                       "edaffect.studies.continuous.refined:train_folds",
                       ("continuous.refined", "continuous.music_components"), gpu=True,
                       mem_mb=2000, runtime_min=60)


FAMILY = _family()
