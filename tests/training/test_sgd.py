"""edaffect.training.sgd against torch.optim (the oracle): same weights bit for bit over many steps,
interchangeable state dicts, StepLR's learning rates; and that a training run no longer
imports the compiler stack (the reason the module exists)."""

import subprocess
import sys

import pytest
import torch

from edaffect.training.sgd import MomentumSGD, step_lr


def _model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Conv1d(2, 4, 3), torch.nn.BatchNorm1d(4),
                               torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(24, 2))


def _steps(model, opt, n, seed, frozen=None):
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        x, y = torch.randn(5, 2, 8, generator=g), torch.randint(0, 2, (5,), generator=g)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        if frozen is not None:
            frozen.grad = None  # a parameter without a gradient this step is left alone
        opt.step()


@pytest.mark.parametrize("momentum,weight_decay", [(0.9, 5e-4), (0.0, 0.0), (0.5, 0.0)])
def test_momentum_sgd_equals_torch_sgd_bit_for_bit(momentum, weight_decay):
    ours, theirs = _model(0), _model(0)
    a = MomentumSGD(ours.parameters(), lr=0.05, momentum=momentum, weight_decay=weight_decay)
    b = torch.optim.SGD(theirs.parameters(), lr=0.05, momentum=momentum,
                        weight_decay=weight_decay)
    _steps(ours, a, 12, 1, frozen=ours[0].bias)
    _steps(theirs, b, 12, 1, frozen=theirs[0].bias)
    for (name, p), q in zip(ours.state_dict().items(), theirs.state_dict().values(),
                            strict=True):
        assert torch.equal(p, q), name


def test_state_dicts_are_interchangeable_with_torch_sgd():
    """Resume ours from torch's state and torch's from ours: same weights as uninterrupted."""
    reference = _model(2)
    ref_opt = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    _steps(reference, ref_opt, 6, 3)

    first = _model(2)
    opt = torch.optim.SGD(first.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    _steps(first, opt, 6, 3)
    ours = MomentumSGD(first.parameters(), lr=0.0, momentum=0.9, weight_decay=1e-3)
    ours.load_state_dict(opt.state_dict())
    assert ours.lr == 0.1
    _steps(first, ours, 4, 4)
    _steps(reference, ref_opt, 4, 4)
    back = torch.optim.SGD(first.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    back.load_state_dict(ours.state_dict())
    _steps(first, back, 3, 5)
    _steps(reference, ref_opt, 3, 5)
    for p, q in zip(first.parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, q)
    with pytest.raises(ValueError, match="optimizer state has"):
        MomentumSGD(list(first.parameters())[:2], lr=0.1).load_state_dict(ours.state_dict())


@pytest.mark.parametrize("step_size,gamma,epochs", [(3, 0.9, 10), (1, 0.7, 6), (100, 0.5, 4)])
def test_step_lr_is_torch_steplr(step_size, gamma, epochs):
    opt = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.03)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size, gamma)
    expected = [opt.param_groups[0]["lr"]]
    for _ in range(epochs):
        opt.step()
        sched.step()
        expected.append(opt.param_groups[0]["lr"])
    assert step_lr(0.03, step_size, gamma, epochs) == expected


def test_training_does_not_import_the_compiler_stack():
    code = (
        "import sys, numpy as np\n"
        "from edaffect.training.trainer import TrainingSettings, train_and_test\n"
        "from edaffect.model_selection.fold_data import FoldData\n"
        "from edaffect.models.rtcan1d import classifier\n"
        "import torch\n"
        "class M(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__(); self.f = classifier(6, (4,))\n"
        "    def forward(self, x, music=None): return self.f(x.flatten(1))\n"
        "rng = np.random.default_rng(0)\n"
        "def part(n): return FoldData(rng.normal(size=(n, 2, 3)), np.arange(n) % 2,"
        " [str(i) for i in range(n)], [str(i) for i in range(n)])\n"
        "s = TrainingSettings(epochs=2, batch_size=4, lr=0.1, lr_decay=0.9, lr_step_epochs=1,"
        " momentum=0.9, weight_decay=5e-4, init='pytorch', init_std=0.01, patience=0, min_steps=0,"
        " device='cpu', amp=False, threads=1,"
        " checkpoint_every=1, seed=0)\n"
        "train_and_test(M, part(12), part(6), part(6), s, None)\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False", out.stdout + out.stderr
