"""The package's rooms form layers (docs/architecture.md): a module imports only from its own room
or rooms below it, and torch only from `models` up.  Read from the source with `ast`, so a lazy
import inside a function counts as much as one at the top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "edaffect"
# Bottom to top; rooms on one level may import each other.
LAYERS: list[set[str]] = [
    {"io", "reference"},
    {"datasets", "synthetic"},
    {"signal"},
    {"model_selection"},
    {"models"},
    {"training"},
    {"reporting"},
    {"studies"},
    {"predict", "cli", "__init__"},
]
TORCH_FREE = {"io", "reference", "datasets", "synthetic", "signal", "model_selection"}
# String references a room may make upward (imported only inside a running job): the built-in
# family registry names the studies' trainers; nothing else.
LEVEL = {room: i for i, rooms in enumerate(LAYERS) for room in rooms}


def room_of(module: str) -> str:
    """`edaffect.signal.preprocessing` -> `signal`; `edaffect.predict` -> `predict`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path: Path) -> list[tuple[int, str]]:
    """Every absolute module an edaffect source file imports, with its line."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "edaffect":
                found += [(node.lineno, f"edaffect.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def source_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_sits_in_a_known_room():
    top = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
           if p.suffix == ".py" or (p.is_dir() and not p.name.startswith("__"))}
    assert top <= set(LEVEL), f"rooms not in the layer table: {sorted(top - set(LEVEL))}"


@pytest.mark.parametrize("path", source_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_the_layers(path: Path):
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    own = LEVEL[room_of(module)]
    wrong = [f"line {line}: {name} ({room_of(name)})" for line, name in imports(path)
             if name.startswith("edaffect.") and LEVEL[room_of(name)] > own]
    assert not wrong, f"{module} imports upward: {wrong}"


@pytest.mark.parametrize("path", [p for p in source_files()
                                  if room_of(".".join(p.relative_to(PACKAGE.parent).parts))
                                  in TORCH_FREE], ids=lambda p: str(p.relative_to(PACKAGE)))
def test_lower_rooms_do_not_import_torch(path: Path):
    torch = [line for line, name in imports(path) if name.split(".")[0] == "torch"]
    assert not torch, f"{path}: imports torch at line(s) {torch}"


def test_the_checker_sees_an_upward_import(tmp_path: Path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from edaffect.training.trainer import fold_seed\n")
    assert imports(bad) == [(2, "edaffect.training.trainer")]
    assert LEVEL[room_of("edaffect.training.trainer")] > LEVEL["signal"]
