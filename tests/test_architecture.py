"""The package's shape: imports only run down the layers, files and functions stay small, and the
pipeline reads what a backend can do from its declared capabilities, never by probing it."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "vivify"

# top to bottom; a module may import from its own layer and the ones below
LAYERS = [
    {"cli"},
    {"demo", "inspection"},
    {"pipeline"},
    {"backends", "export"},
    {"weights", "runtime"},
    {"motion", "nn", "face", "io", "metrics", "render_checks"},
    {"watermark"},
    {"errors", "lazy"},
]
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60


def _layer(module: str) -> int:
    top = module.split(".")[1] if module.count(".") else ""
    for depth, names in enumerate(LAYERS):
        if top in names:
            return depth
    raise AssertionError(f"{module}: not in any layer of {LAYERS}")


def _modules() -> list[tuple[str, Path, ast.Module]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out.append((name, path, ast.parse(path.read_text(), str(path))))
    return out


def _imports(tree: ast.Module) -> list[tuple[int, str]]:
    """Every vivify module imported anywhere in the file (type-checking and local imports too)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("vivify.")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vivify."):
            found.append((node.lineno, node.module))
    return found


def test_every_import_runs_down_the_layers():
    wrong = []
    for name, path, tree in _modules():
        if name == "vivify":  # the package's public API re-exports from every layer
            continue
        for line, imported in _imports(tree):
            if _layer(imported) < _layer(name):
                wrong.append(f"{path.relative_to(SRC)}:{line} imports {imported} (a higher layer)")
    assert not wrong, "\n".join(wrong)


def test_layer_check_catches_an_upward_import():
    tree = ast.parse("from vivify.pipeline.options import AnimationOptions")
    ((_, imported),) = _imports(tree)
    assert _layer(imported) < _layer("vivify.backends.neural")


def test_files_and_functions_stay_small():
    long = []
    for _, path, tree in _modules():
        lines = len(path.read_text().splitlines())
        if lines > MAX_FILE_LINES:
            long.append(f"{path.relative_to(SRC)}: {lines} lines")
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name}: {length} lines")
    assert not long, "\n".join(long)


@pytest.mark.parametrize("package", ["pipeline", "cli"])
def test_backends_are_never_probed(package):
    """Capabilities come from ``backend.capabilities``, not from getattr/hasattr on a backend."""
    probes = []
    for path in sorted((SRC / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id in ("getattr", "hasattr") and "backend" in ast.unparse(node.args[0]):
                    probes.append(f"{path.relative_to(SRC)}:{node.lineno} {ast.unparse(node)}")
    assert not probes, "\n".join(probes)
