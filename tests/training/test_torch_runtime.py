"""set_deterministic: the same switches as torch.use_deterministic_algorithms, read back through
torch's own getters, without importing torch._inductor (3 s of every training job)."""

import subprocess
import sys

import pytest
import torch

from edaffect.training.runtime import set_deterministic


@pytest.mark.parametrize("mode,warn_only", [(True, False), (True, True), (False, False)])
def test_switches_read_back_through_torch(mode, warn_only):
    before = (torch.are_deterministic_algorithms_enabled(),
              torch.is_deterministic_algorithms_warn_only_enabled())
    try:
        set_deterministic(mode, warn_only=warn_only)
        assert torch.are_deterministic_algorithms_enabled() is mode
        assert torch.is_deterministic_algorithms_warn_only_enabled() is (mode and warn_only)
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])


def test_inductor_flag_follows_when_already_imported():
    import torch._inductor.config as inductor_config

    before = torch.are_deterministic_algorithms_enabled()
    try:
        set_deterministic(True)
        assert inductor_config.deterministic is True
        set_deterministic(False)
        assert inductor_config.deterministic is False
    finally:
        torch.use_deterministic_algorithms(before)


def test_does_not_import_the_compiler():
    code = ("import sys; from edaffect.training.runtime import set_deterministic; "
            "set_deterministic(True); import torch; "
            "assert torch.are_deterministic_algorithms_enabled(); "
            "print('torch._inductor' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
