"""No unsafe loading anywhere in vivify's code: src/, scripts/ and benchmarks/ are parsed with ``ast``.

Refused: ``pickle.load``/``loads``/``Unpickler`` (also through ``_pickle``/``cPickle``), ``dill``,
``cloudpickle``, ``shelve``, ``marshal.load``/``loads``, ``joblib.load``, ``pandas.read_pickle``,
``torch.load`` without ``weights_only=True``, ``yaml.load`` without ``Loader=yaml.SafeLoader``
(``yaml.safe_load`` is fine), ``numpy.load`` with ``allow_pickle`` other than False, and the builtins
``eval``/``exec``. Imported aliases are followed (``from torch import load as tl``; ``import numpy
as np``), and a refused function named without being called (``f = pickle.loads``) counts too.

The one legitimate use is :data:`ALLOWED`, keyed by file and construct: LivePortrait's ``.pkl``
templates are read by a subclass of ``pickle.Unpickler`` whose ``find_class`` only answers from an
allow-list. The same construct in any other file, or that class without its own ``find_class``,
fails; so does an allow-list entry that no longer matches anything.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("src", "scripts", "benchmarks")

# (file relative to the root, construct) -> why it is safe
ALLOWED: dict[tuple[str, str], str] = {
    (
        "src/vivify/pipeline/lp_template.py",
        "subclass of pickle.Unpickler: _ArrayOnlyUnpickler",
    ): "LivePortrait .pkl templates: find_class answers only vivify's checked NumPy stand-ins from a "
    "table, persistent_load refuses, and the opcodes are checked before loading",
}

# modules read under another name
_MODULE_ALIASES = {"_pickle": "pickle", "cPickle": "pickle", "six.moves.cPickle": "pickle"}
# refused whenever they are named (called or not)
_ALWAYS_UNSAFE = frozenset(
    {
        "pickle.load", "pickle.loads", "pickle.Unpickler", "pickle._Unpickler", "pickle._load",
        "pickle._loads", "marshal.load", "marshal.loads", "joblib.load", "pandas.read_pickle",
        "builtins.eval", "builtins.exec",
    }
)  # fmt: skip
# whole modules that deserialise arbitrary objects
_UNSAFE_MODULES = ("dill", "cloudpickle", "shelve", "cPickle")
# safe only with the right arguments, which a call must show
_CHECKED_CALLS = frozenset(
    {"torch.load", "torch.serialization.load", "yaml.load", "yaml.load_all", "numpy.load"}
)
_UNSAFE_YAML = frozenset({"yaml.unsafe_load", "yaml.unsafe_load_all", "yaml.full_load", "yaml.full_load_all"})
_SAFE_YAML_LOADERS = frozenset({"yaml.SafeLoader", "yaml.CSafeLoader"})
_UNPICKLERS = frozenset({"pickle.Unpickler", "pickle._Unpickler"})
_BUILTIN_CODE = frozenset({"eval", "exec"})


@dataclass(frozen=True, order=True)
class Finding:
    """One refused construct at ``path:line`` (``path`` relative to the scanned root)."""

    path: str
    line: int
    construct: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.construct}"


def _canonical(module: str) -> str:
    for alias, real in _MODULE_ALIASES.items():
        if module == alias or module.startswith(alias + "."):
            return real + module[len(alias) :]
    return module


class _Scanner(ast.NodeVisitor):
    """Collects the refused constructs of one parsed file."""

    def __init__(self, path: str, tree: ast.Module) -> None:
        self.path = path
        self.findings: list[Finding] = []
        self.names: dict[str, str] = {}  # local name -> the module attribute it stands for
        self.checked: set[int] = set()  # ids of nodes already judged as a call's function or a base
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    self.names[a.asname or a.name.split(".")[0]] = _canonical(
                        a.name if a.asname else a.name.split(".")[0]
                    )
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    self.names[a.asname or a.name] = f"{_canonical(node.module)}.{a.name}"
        shadowed = {
            n.name
            for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        }
        for name in _BUILTIN_CODE - shadowed.intersection(_BUILTIN_CODE) - set(self.names):
            self.names[name] = f"builtins.{name}"

    def _add(self, node: ast.AST, construct: str) -> None:
        self.findings.append(Finding(self.path, getattr(node, "lineno", 0), construct))

    def qualname(self, node: ast.AST) -> str | None:
        """``module.attr`` that an expression names, following imports; None if not a plain name."""
        if isinstance(node, ast.Name):
            return self.names.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.qualname(node.value)
            return None if base is None else f"{base}.{node.attr}"
        if (  # getattr(pickle, "loads")
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            base = self.qualname(node.args[0])
            return None if base is None else f"{base}.{node.args[1].value}"
        return None

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            if a.name.split(".")[0] in _UNSAFE_MODULES:
                self._add(node, f"import {a.name}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and node.level == 0 and node.module.split(".")[0] in _UNSAFE_MODULES:
            self._add(node, f"import from {node.module}")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for base in node.bases:
            if self.qualname(base) in _UNPICKLERS:
                self.checked.add(id(base))
                own = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
                missing = "" if "find_class" in own else " without find_class"
                self._add(node, f"subclass of pickle.Unpickler{missing}: {node.name}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = self.qualname(node.func)
        if name is not None:
            self.checked.add(id(node.func))
            problem = self._call_problem(name, node)
            if problem:
                self._add(node, problem)
        self.generic_visit(node)

    def _call_problem(self, name: str, call: ast.Call) -> str | None:
        keywords = {k.arg: k.value for k in call.keywords}
        if name in _ALWAYS_UNSAFE or name.split(".")[0] in _UNSAFE_MODULES:
            return f"{name.removeprefix('builtins.')}()"
        if name in _UNSAFE_YAML:
            return f"{name}()"
        if name in ("torch.load", "torch.serialization.load"):
            flag = keywords.get("weights_only")
            if not (isinstance(flag, ast.Constant) and flag.value is True):
                return "torch.load() without weights_only=True"
        elif name in ("yaml.load", "yaml.load_all"):
            loader = keywords.get("Loader", call.args[1] if len(call.args) > 1 else None)
            if loader is None or self.qualname(loader) not in _SAFE_YAML_LOADERS:
                return f"{name}() without Loader=yaml.SafeLoader"
        elif name == "numpy.load":
            flag = keywords.get("allow_pickle", call.args[2] if len(call.args) > 2 else None)
            if None in keywords or (
                flag is not None and not (isinstance(flag, ast.Constant) and flag.value is False)
            ):
                return "numpy.load() with allow_pickle not False"
        return None

    def _reference(self, node: ast.Name | ast.Attribute) -> None:
        if id(node) in self.checked or not isinstance(node.ctx, ast.Load):
            return
        name = self.qualname(node)
        if name in _ALWAYS_UNSAFE or name in _CHECKED_CALLS or name in _UNSAFE_YAML:
            self._add(node, f"{name.removeprefix('builtins.')} named without a checked call")

    def visit_Name(self, node: ast.Name) -> None:
        self._reference(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self._reference(node)
        self.generic_visit(node)


def scan_file(path: Path, root: Path) -> list[Finding]:
    """The refused constructs of one Python file (a file that does not parse is a finding too)."""
    rel = path.relative_to(root).as_posix()
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError) as exc:
        return [Finding(rel, getattr(exc, "lineno", None) or 0, f"cannot parse ({type(exc).__name__})")]
    scanner = _Scanner(rel, tree)
    scanner.visit(tree)
    return sorted(scanner.findings)


def scan(root: Path, folders: Iterable[str] = SCANNED) -> list[Finding]:
    """Every refused construct in the ``.py`` files under ``root``'s ``folders``."""
    return [
        f for folder in folders for p in sorted((root / folder).rglob("*.py")) for f in scan_file(p, root)
    ]


def unexpected(findings: list[Finding], allowed: dict[tuple[str, str], str]) -> list[Finding]:
    return [f for f in findings if (f.path, f.construct) not in allowed]


def test_scanned_folders_exist():
    assert all((ROOT / folder).is_dir() for folder in SCANNED)
    assert any((ROOT / "src").rglob("*.py"))


def test_no_unsafe_loading_in_the_sources():
    findings = scan(ROOT)
    bad = unexpected(findings, ALLOWED)
    assert not bad, "unsafe loading (see tests/test_safe_loading.py):\n" + "\n".join(map(str, bad))
    stale = set(ALLOWED) - {(f.path, f.construct) for f in findings}
    assert not stale, f"allow-list entries that match nothing any more (remove them): {sorted(stale)}"


# -- the scanner itself, on a tree of known code ----------------------------------------------------

BAD = """\
import pickle
import pickle as pk
import _pickle
import marshal
import numpy as np
import torch
import yaml
from pickle import loads as pl
from torch import load as tload
import dill
from shelve import open as shelf
pickle.load(f)
pk.loads(b)
_pickle.loads(b)
pl(b)
pickle.Unpickler(f).load()
torch.load(f)
torch.load(f, weights_only=False)
torch.load(f, **options)
tload(f)
yaml.load(s)
yaml.load(s, Loader=yaml.Loader)
yaml.unsafe_load(s)
np.load(p, allow_pickle=True)
np.load(p, None, flag)
marshal.loads(b)
eval("1 + 1")
exec(code)
decode = pickle.loads
getattr(pickle, "loads")(b)
torch.serialization.load(f)
class Loose(pickle.Unpickler):
    pass
"""
BAD_EXPECTED = {
    (10, "import dill"),
    (11, "import from shelve"),
    (12, "pickle.load()"),
    (13, "pickle.loads()"),
    (14, "pickle.loads()"),
    (15, "pickle.loads()"),
    (16, "pickle.Unpickler()"),
    (17, "torch.load() without weights_only=True"),
    (18, "torch.load() without weights_only=True"),
    (19, "torch.load() without weights_only=True"),
    (20, "torch.load() without weights_only=True"),
    (21, "yaml.load() without Loader=yaml.SafeLoader"),
    (22, "yaml.load() without Loader=yaml.SafeLoader"),
    (23, "yaml.unsafe_load()"),
    (24, "numpy.load() with allow_pickle not False"),
    (25, "numpy.load() with allow_pickle not False"),
    (26, "marshal.loads()"),
    (27, "eval()"),
    (28, "exec()"),
    (29, "pickle.loads named without a checked call"),
    (30, "pickle.loads()"),
    (31, "torch.load() without weights_only=True"),
    (32, "subclass of pickle.Unpickler without find_class: Loose"),
}

GOOD = """\
import pickle
import numpy as np
import torch
import yaml
from torch import load
state = torch.load(f, map_location="cpu", weights_only=True)
state = load(f, weights_only=True)
config = yaml.safe_load(s)
config = yaml.load(s, Loader=yaml.SafeLoader)
config = yaml.load(s, yaml.CSafeLoader)
arrays = np.load(p)
arrays = np.load(p, allow_pickle=False)
model.eval()
model.load_state_dict(state)
pickle.dumps(obj)
error = pickle.UnpicklingError
text = "pickle.loads(b); eval(x)"  # in a string, not code


def evaluate(module):
    return module.eval()
"""

RESTRICTED = """\
import pickle


class Restricted(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError(name)
"""


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def test_the_scanner_finds_each_unsafe_construct_at_its_line(tmp_path):
    root = _tree(tmp_path, {"src/pkg/bad.py": BAD})
    got = {(f.line, f.construct) for f in scan(root)}
    assert got == BAD_EXPECTED
    assert str(Finding("src/pkg/bad.py", 17, "torch.load() without weights_only=True")) in {
        str(f) for f in scan(root)
    }


def test_the_scanner_passes_safe_loading(tmp_path):
    root = _tree(tmp_path, {"src/pkg/good.py": GOOD, "scripts/tool.py": GOOD, "benchmarks/bench.py": GOOD})
    assert scan(root) == []


@pytest.mark.parametrize("folder", SCANNED)
def test_every_scanned_folder_is_checked(tmp_path, folder):
    root = _tree(tmp_path, {f"{folder}/deep/er/mod.py": "import torch\nx = torch.load(f)\n"})
    assert [str(f) for f in scan(root)] == [
        f"{folder}/deep/er/mod.py:2: torch.load() without weights_only=True"
    ]


def test_the_allow_list_is_keyed_by_file_and_construct(tmp_path):
    allowed_path = "src/vivify/pipeline/lp_template.py"
    construct = "subclass of pickle.Unpickler: Restricted"
    allowed = {(allowed_path, construct): "test"}
    root = _tree(tmp_path, {allowed_path: RESTRICTED, "src/vivify/io/other.py": RESTRICTED})
    bad = unexpected(scan(root), allowed)
    assert [str(f) for f in bad] == [f"src/vivify/io/other.py:4: {construct}"]  # same code elsewhere
    loose = RESTRICTED.replace("def find_class", "def other")
    root = _tree(tmp_path, {allowed_path: loose, "src/vivify/io/other.py": ""})
    assert [f.construct for f in unexpected(scan(root), allowed)] == [
        "subclass of pickle.Unpickler without find_class: Restricted"
    ]


def test_an_unparsable_file_is_a_finding(tmp_path):
    root = _tree(tmp_path, {"src/broken.py": "def f(:\n"})
    assert [f.construct for f in scan(root)] == ["cannot parse (SyntaxError)"]


def test_builtins_shadowed_by_imports_are_not_the_builtins(tmp_path):
    root = _tree(tmp_path, {"src/m.py": "from mylib import eval\neval(x)\nbuiltins_eval = eval\n"})
    assert scan(root) == []
