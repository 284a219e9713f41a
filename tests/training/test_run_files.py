"""The one writer of a fold's run files: what it writes reads back with the standard readers, and
separate rule outputs must name one folder's three files."""

import json
import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from edaffect.training.run_files import run_folder, write_run_files


def test_written_files_read_back(tmp_path):
    run = tmp_path / "runs/e/pmemo/valence/fold0"
    predictions = pd.DataFrame({"trial_id": ["a", "b"], "y_true": [0, 1], "p_high": [0.25, 0.5]})
    written = write_run_files(run, {"accuracy": np.float64(0.5), "fold": 0}, predictions,
                              {"state_dict": {"w": torch.ones(2)}})
    assert sorted(written) == ["metrics.json", "model.pt", "predictions.csv"]
    assert json.loads((run / "metrics.json").read_text()) == {"accuracy": 0.5, "fold": 0}
    pd.testing.assert_frame_equal(pd.read_csv(run / "predictions.csv"), predictions)
    assert torch.equal(torch.load(run / "model.pt")["state_dict"]["w"], torch.ones(2))
    write_run_files(run, {"fold": 0}, None, {"lookup": {"s": 1}}, model_format="pickle")
    assert pickle.loads((run / "model.pt").read_bytes()) == {"lookup": {"s": 1}}
    assert not list(run.glob(".*")), "no temporary file left behind"


def test_run_folder_names_one_folder(tmp_path):
    d = tmp_path / "fold1"
    assert run_folder(d / "metrics.json", d / "predictions.csv", d / "model.pt") == d
    with pytest.raises(ValueError, match="one folder"):
        run_folder(d / "metrics.json", tmp_path / "predictions.csv", d / "model.pt")
    with pytest.raises(ValueError, match="model_format"):
        write_run_files(d, {}, None, {"x": 1}, model_format="npz")
