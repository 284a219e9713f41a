"""The `edaffect` command (pyproject [project.scripts]); today one subcommand, `predict`."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edaffect", description="edaffect command line")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "predict",
        help="valence/arousal probabilities of a trained model on a new EDA recording",
        description="Per-window valence/arousal probabilities of a trained model (a fold's "
        "model.pt, or a run directory: the folds' probabilities averaged) on an EDA recording, "
        "with the training preprocessing (crop, z-scoring, cvxEDA, interpolation to L).",
    )
    p.add_argument("--model", required=True, type=Path,
                   help="results/runs/<experiment>/<dataset>[/<dimension>[/fold<k>/model.pt]]")
    p.add_argument("--eda", required=True, type=Path,
                   help="CSV: a time column in seconds (time, t, timestamp, ...) or --fs, and "
                   "the EDA column (eda, gsr, ... or --column)")
    p.add_argument("--fs", type=float, default=None, help="sampling rate (Hz) if no time column")
    p.add_argument("--column", default=None, help="the EDA column when the name is not obvious")
    p.add_argument("--audio", type=Path, default=None,
                   help="the song's audio (music models: RTCAN-1D with music on PMEmo)")
    p.add_argument("--window", type=float, default=None,
                   help="window length in seconds (default: the training trials' median length)")
    p.add_argument("--hop", type=float, default=None, help="hop in seconds (default: --window)")
    p.add_argument("--out", required=True, type=Path, help="CSV of per-window probabilities")
    p.add_argument("--plot", type=Path, default=None, help="PNG with Grad-CAM-1D per window")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="edaffect: %(message)s")
    from edaffect.io import atomic
    from edaffect.predict import PredictError, plot_gradcam, predict

    try:
        result = predict(args.model, args.eda, fs=args.fs, audio=args.audio,
                         window_s=args.window, hop_s=args.hop, column=args.column)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic.to_csv(result.table, args.out, index=False)
        if args.plot is not None:
            plot_gradcam(result, args.plot)
    except PredictError as exc:
        print(f"edaffect predict: error: {exc}", file=sys.stderr)
        return 2
    used = (result.table["excluded"] == "").sum()
    print(f"{args.out}: {len(result.table)} windows ({used} scored)"
          + (f", plot {args.plot}" if args.plot else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
