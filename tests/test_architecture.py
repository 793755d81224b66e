"""The arrows of the house, read from the source (AST; nothing is imported).

- A layer imports only from the layers before it in the chain
  io -> indicators -> design -> weighting -> estimation -> sae -> report -> run ->
  commands -> cli, so the library layers never import the run side (the config, the
  filter expressions and the pipeline of ``flestimate.run``, the command line) and the
  report never imports the config layer. The one declared door upward:
  ``flestimate.design.methods`` binds the estimators of ``flestimate.estimation`` to the
  design, imported lazily (inside a function) or for type checkers only.
- No module outside ``design/`` (in src/, tests/ and benchmarks/) touches a private
  member of a design: an attribute ``x._name`` (or ``getattr(x, "_name")``) where
  ``_name`` is defined on a design class (``VarianceEngine``, ``SurveyDesign``,
  ``ReplicateDesign`` and the classes deriving from them) and ``x`` is not
  ``self``/``cls``.
  The estimators, the weighting steps and the tests use the public interface
  (:class:`flestimate.design.interface.VarianceEngine`).

- No source file of ``src/flestimate`` is longer than :data:`MAX_LINES` lines (one job
  per file).

A new rule is one more entry of ``RULES``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = "flestimate"

# the library's layers, in the order of the data flow (DESIGN.md), then the run room
# (config, filters, pipeline) and the command line; nsum, proxy and rds are the
# hidden-population methods (network scale-up, multiplicity reports, RDS)
CHAIN = ("io", "indicators", "design", "weighting", "estimation", "nsum", "proxy", "rds",
         "sae", "report", "run", "commands", "cli")
# what turns a config into calls of the library (and the command line)
RUN_SIDE = ("run", "commands", "cli", "__main__")
LIBRARY = CHAIN[: CHAIN.index("run")]
MAX_LINES = 750


@dataclass(frozen=True)
class Rule:
    """Modules of ``importer`` (a subpackage or module of flestimate) never import from
    ``forbidden``; ``doors`` are the importer's modules allowed to, lazily (inside a
    function) or for type checkers (``if TYPE_CHECKING:``) only."""

    importer: str
    forbidden: tuple[str, ...]
    doors: tuple[str, ...] = ()


# the one door upward: the design's estimator methods (design/methods.py) bind the
# functions of flestimate.estimation (and flestimate.sae's small_area) to the design
DOOR = Rule("design", ("estimation", "sae"), doors=("design.methods",))

RULES = (
    # each layer of the chain imports nothing after it (design -> estimation: the door) ...
    *(
        Rule(layer, tuple(t for t in CHAIN[i + 1 :] if layer != "design" or t not in DOOR.forbidden))
        for i, layer in enumerate(CHAIN[:-1])
    ),
    DOOR,
    # ... the library layers never import the run side ...
    *(Rule(layer, RUN_SIDE) for layer in LIBRARY),
    # ... in particular the report reads its own specifications, never the config layer
    Rule("report", ("run",)),
)


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, relative to flestimate ("design.methods")
    target: str  # the imported module, relative to flestimate ("estimation.estimators")
    line: int
    lazy: bool  # inside a function
    type_only: bool  # under ``if TYPE_CHECKING:``


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC / PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@cache
def _sources(folder: Path) -> dict[str, ast.Module]:
    return {
        str(path.relative_to(ROOT)): ast.parse(path.read_text(encoding="utf-8"), str(path))
        for path in sorted(folder.rglob("*.py"))
        # not the git-ignored folders (benchmarks/.peers-venv holds the peers' packages)
        if not any(part.startswith(".") for part in path.relative_to(folder).parts)
    }


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(module: str, tree: ast.Module, is_package: bool = False) -> list[Import]:
    """The imports of flestimate modules in ``tree`` (absolute and relative)."""
    out: list[Import] = []
    base = module.split(".") if is_package else module.split(".")[:-1]

    def visit(node: ast.AST, lazy: bool, type_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, True, type_only)
                continue
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    visit(ast.Module(body=[stmt], type_ignores=[]), lazy, True)
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]), lazy, type_only)
                continue
            targets: list[str] = []
            if isinstance(child, ast.Import):
                targets = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom):
                if child.level:  # relative: from the package of this module
                    anchor = base[: len(base) - (child.level - 1)]
                    name = ".".join([PACKAGE, *anchor, *([child.module] if child.module else [])])
                else:
                    name = child.module or ""
                # "from flestimate.design import totals" imports the module design.totals
                targets = [f"{name}.{a.name}" for a in child.names]
            for target in targets:
                parts = target.split(".")
                if parts[0] == PACKAGE:
                    out.append(Import(module, ".".join(parts[1:]), child.lineno, lazy, type_only))
            visit(child, lazy, type_only)

    visit(tree, False, False)
    return out


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def rule_violations(rules: tuple[Rule, ...], imports: list[Import]) -> list[str]:
    bad = []
    for imp in imports:
        for rule in rules:
            if not _within(imp.module, rule.importer):
                continue
            for forbidden in rule.forbidden:
                if not _within(imp.target, forbidden):
                    continue
                door = imp.module in rule.doors and (imp.lazy or imp.type_only)
                if not door:
                    bad.append(
                        f"{imp.module} (line {imp.line}) imports {imp.target}: "
                        f"{rule.importer} must not import {forbidden}"
                    )
    return bad


@cache
def _all_imports() -> list[Import]:
    imports = []
    for file, tree in _sources(SRC / PACKAGE).items():
        path = ROOT / file
        imports += imports_of(_module_name(path), tree, path.name == "__init__.py")
    return imports


# ----------------------------------------------------------------------------- private members
def _design_classes(trees: dict[str, ast.Module]) -> list[ast.ClassDef]:
    """The design classes and every class of design/ deriving from one of them."""
    classes = [n for t in trees.values() for n in ast.walk(t) if isinstance(n, ast.ClassDef)]
    names = {"VarianceEngine", "DesignMethods", "SurveyDesign", "ReplicateDesign"}
    grew = True
    while grew:  # a few rounds: the inheritance chain is short
        grew = False
        for cls in classes:
            bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in cls.bases}
            if cls.name not in names and bases & names:
                names.add(cls.name)
                grew = True
    return [c for c in classes if c.name in names]


def _private(name: str) -> bool:
    # dunders and Jupyter's display hooks (``_repr_html_``) are protocols, not private
    return name.startswith("_") and not name.endswith("_")


def private_members(classes: list[ast.ClassDef]) -> set[str]:
    """Private names defined on the classes: methods, class attributes, ``__slots__``."""
    names: set[str] = set()
    for cls in classes:
        for stmt in cls.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(stmt.name)
            targets = (
                stmt.targets
                if isinstance(stmt, ast.Assign)
                else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
            )
            for t in targets:
                if isinstance(t, ast.Name):
                    names.add(t.id)
                    if t.id == "__slots__" and stmt.value is not None:
                        names |= {
                            e.value
                            for e in ast.walk(stmt.value)
                            if isinstance(e, ast.Constant) and isinstance(e.value, str)
                        }
    return {n for n in names if _private(n)}


def private_accesses(tree: ast.Module, private: set[str]) -> list[tuple[int, str]]:
    """``x._name`` (x not self/cls) and ``getattr(x, "_name")``-style uses of ``private``."""
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in private:
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                hits.append((node.lineno, node.attr))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in private
        ):
            hits.append((node.lineno, node.args[1].value))
    return hits


# ----------------------------------------------------------------------------- the checks
def test_layers_import_only_from_the_layers_before_them():
    bad = rule_violations(RULES, _all_imports())
    assert not bad, "imports against the arrows of the house:\n" + "\n".join(bad)


def test_the_one_door_from_design_to_estimation_is_the_design_methods():
    doors = {
        imp.module
        for imp in _all_imports()
        for forbidden in DOOR.forbidden
        if _within(imp.module, DOOR.importer) and _within(imp.target, forbidden)
    }
    assert doors == set(DOOR.doors)
    # and the layers behind the door never reach back into design's estimator methods
    back = [
        imp for imp in _all_imports()
        for forbidden in DOOR.forbidden
        if _within(imp.module, forbidden) and _within(imp.target, DOOR.doors[0])
    ]  # fmt: skip
    assert not back


def test_no_private_member_of_a_design_is_touched_outside_design():
    design = _sources(SRC / PACKAGE / "design")
    classes = _design_classes(design)
    assert {"SurveyDesign", "ReplicateDesign"} <= {c.name for c in classes}
    private = private_members(classes)
    assert {"_data", "_structure", "_factors", "_summary_rows"} <= private
    outside = {}
    for folder in (SRC / PACKAGE, ROOT / "tests", ROOT / "benchmarks"):
        outside.update(
            {f: t for f, t in _sources(folder).items() if "/design/" not in f.replace("\\", "/")}
        )
    bad = [
        f"{file}:{line}: {name}"
        for file, tree in outside.items()
        for line, name in private_accesses(tree, private)
    ]
    assert not bad, "private members of a design used outside design/:\n" + "\n".join(bad)


def test_the_report_never_imports_the_config_layer():
    report = [imp for imp in _all_imports() if _within(imp.module, "report")]
    assert report, "the report's imports were not read"
    bad = rule_violations((Rule("report", ("run",)),), report)
    assert not bad, "\n".join(bad)
    # the rule finds one, even lazy
    lazy = imports_of("report.tables", ast.parse(
        "def f():\n    from flestimate.run.config_specs import TableSpec\n"
    ))  # fmt: skip
    assert len(rule_violations(RULES, lazy)) == 3  # the chain, the library, the report


def test_the_run_room_is_after_the_report_and_before_the_command_line():
    run = [imp for imp in _all_imports() if _within(imp.module, "run")]
    assert {"report", "design", "run"} <= {imp.target.split(".")[0] for imp in run}
    assert not rule_violations(RULES, run)
    assert any(_within(imp.target, "run") for imp in _all_imports()
               if _within(imp.module, "commands"))


def long_files(folder: Path, limit: int) -> list[str]:
    """``"path: N lines"`` of the Python files of ``folder`` longer than ``limit`` lines."""
    sizes = {path: len(path.read_text(encoding="utf-8").splitlines())
             for path in sorted(folder.rglob("*.py"))}
    return [f"{path.relative_to(folder).as_posix()}: {n} lines"
            for path, n in sizes.items() if n > limit]


def test_no_source_file_is_longer_than_the_limit():
    long = long_files(SRC / PACKAGE, MAX_LINES)
    assert not long, f"files above {MAX_LINES} lines (split them, one job each):\n" + "\n".join(long)


def test_the_length_check_finds_a_long_file(tmp_path):
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "short.py").write_text("x = 1\n" * 10)
    (folder / "long.py").write_text("x = 1\n" * 12)
    assert long_files(folder, 11) == ["long.py: 12 lines"]
    assert long_files(folder, 12) == []

def test_checker_finds_imports_against_the_arrows():
    src = ast.parse(
        "from flestimate.estimation import estimators\n"
        "from flestimate.design.kernel import grouped_sums\n"
        "def f():\n    from flestimate.estimation.table import EstimateTable\n"
    )
    imports = imports_of("design.survey", src)
    assert [(i.target, i.lazy) for i in imports] == [
        ("estimation.estimators", False),
        ("design.kernel.grouped_sums", False),
        ("estimation.table.EstimateTable", True),
    ]
    assert len(rule_violations(RULES, imports)) == 2  # not a door: both are wrong
    door = imports_of("design.methods", src)
    assert len(rule_violations(RULES, door)) == 1  # the door, but the first is eager
    relative = imports_of("design.replicate", ast.parse("from ...weighting import rake"), True)
    assert relative[0].target == "weighting.rake"
    assert rule_violations(RULES, relative)
    # the door opens to the estimators only
    lazy_weighting = imports_of("design.methods", ast.parse(
        "def f():\n    from flestimate.weighting import rake\n"
    ))  # fmt: skip
    assert rule_violations(RULES, lazy_weighting)


@pytest.mark.parametrize(
    ("code", "found"),
    [
        ("design._evolve(weights=w)", ["_evolve"]),
        ("r = getattr(design, '_residualizers', ())", ["_residualizers"]),
        ("self._data", []),
        ("design.residualizers", []),
    ],
)
def test_checker_finds_private_members(code, found):
    private = {"_evolve", "_residualizers", "_data"}
    assert [name for _, name in private_accesses(ast.parse(code), private)] == found
