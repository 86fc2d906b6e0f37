"""The layers of DESIGN.md, enforced: imports point down only, and the kernel never names a kind."""

import ast
from pathlib import Path

import aiflywheel

PACKAGE = Path(aiflywheel.__file__).parent
LAYERS = ["interfaces", "kinds", "kernel", "backends"]  # each may import only those to its right
SHARED = {"errors", "settings"}


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("aiflywheel.")}


def modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


def test_every_layer_exists():
    assert all((PACKAGE / layer / "__init__.py").exists() for layer in LAYERS)


def test_imports_point_down_only():
    broken = []
    for position, layer in enumerate(LAYERS):
        allowed = {layer, *LAYERS[position + 1 :], *SHARED}
        for path in modules(layer):
            for name in imports_of(path):
                top = name.split(".")[1]
                if top not in allowed:
                    broken.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert broken == []


def test_kinds_do_not_import_each_other():
    broken = []
    for path in modules("kinds"):
        parts = path.relative_to(PACKAGE / "kinds").parts
        if len(parts) == 1:
            continue
        for name in imports_of(path):
            segments = name.split(".")
            if segments[1] == "kinds" and len(segments) > 2 and segments[2] not in (parts[0], "components"):
                broken.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert broken == []


def test_the_kernel_never_names_a_kind():
    kinds = [p.name for p in (PACKAGE / "kinds").iterdir() if p.is_dir() and not p.name.startswith("_")]
    for path in modules("kernel") + modules("backends"):
        source = path.read_text()
        assert not [kind for kind in kinds if f"kinds.{kind}" in source], path


def test_backends_and_kernel_do_not_import_testing():
    for path in modules("kernel") + modules("backends") + modules("kinds"):
        assert not [n for n in imports_of(path) if n.startswith("aiflywheel.testing")], path


def test_every_package_has_tests():
    tests = Path(__file__).parent
    for layer in LAYERS:
        assert list((tests / layer).rglob("test_*.py")), f"tests/{layer} has no tests"
