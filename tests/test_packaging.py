"""The install is declared and locked: every import has a declared distribution, the lock pins
every declared one with hashes, and the GUI build of OpenCV never enters."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = (ROOT / "requirements.lock").read_text()
OPENCV_NAME = tomllib.loads((ROOT / "packaging/opencv-python/pyproject.toml").read_text())
LOCAL_TOP_LEVELS = {"ebrcs", "tests", "bench", "_common"}
BENCH_OUTPUT = ROOT / "bench" / "out"
"""What benchmarks write (ignored by git), not part of them."""
TOOLING_EXTRAS = {"test"}
"""Extras for working on the project; the others are features (``bench`` serves ``ebrcs bench``)."""


def _declared(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(line).name) for line in requirements}


def _third_party_imports(folder: Path) -> Iterator[tuple[str, Path]]:
    """Each top-level module imported by a file under ``folder`` that is neither stdlib nor ours."""
    for path in sorted(folder.rglob("*.py")):
        if BENCH_OUTPUT in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in LOCAL_TOP_LEVELS:
                    yield top, path


def _undeclared(folder: Path, declared: set[str]) -> list[str]:
    providers = packages_distributions()
    local = {path.stem for path in folder.rglob("*.py")}
    problems = []
    for module, path in _third_party_imports(folder):
        if module in local:
            continue  # a sibling module of a script folder (tests/, bench/)
        names = {canonicalize_name(name) for name in providers.get(module, [])}
        if not names & declared:
            problems.append(f"{path.relative_to(ROOT)} imports {module} ({sorted(names)})")
    return sorted(set(problems))


def _locked() -> dict[str, str]:
    """Each pinned distribution of the lock and its version."""
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", LOCK, flags=re.MULTILINE)
    return {canonicalize_name(name): version for name, version in pins}


def test_every_import_of_the_package_is_a_declared_runtime_dependency() -> None:
    project = PYPROJECT["project"]
    declared = _declared(project["dependencies"])
    for extra, requirements in project["optional-dependencies"].items():
        if extra not in TOOLING_EXTRAS:
            declared |= _declared(requirements)
    assert _undeclared(ROOT / "src" / "ebrcs", declared) == []


def test_every_import_of_the_benchmarks_is_declared_for_them() -> None:
    project = PYPROJECT["project"]
    declared = _declared(project["dependencies"])
    declared |= _declared(project["optional-dependencies"]["bench"])
    assert _undeclared(ROOT / "bench", declared) == []


def test_bench_only_libraries_are_not_runtime_dependencies() -> None:
    runtime = _declared(PYPROJECT["project"]["dependencies"])
    assert runtime.isdisjoint(_declared(PYPROJECT["project"]["optional-dependencies"]["bench"]))


def test_the_lock_pins_every_declared_dependency_with_hashes() -> None:
    project = PYPROJECT["project"]
    declared = _declared(project["dependencies"])
    for extra in PYPROJECT["tool"]["pip-tools"]["extra"]:
        declared |= _declared(project["optional-dependencies"][extra])
    assert declared - set(_locked()) == set(), "run `make lock` after changing pyproject.toml"
    entries = re.split(r"\n(?=[A-Za-z0-9])", LOCK.split("\n\n# WARNING")[0])
    pins = [entry for entry in entries if re.match(r"[A-Za-z0-9].*==", entry)]
    assert len(pins) == len(_locked())
    assert all("--hash=sha256:" in entry for entry in pins)


def test_the_gui_opencv_stays_out_and_its_stand_in_names_the_locked_headless_build() -> None:
    locked = _locked()
    assert "opencv-python" not in locked
    headless = locked["opencv-python-headless"]
    project = OPENCV_NAME["project"]
    assert project["version"] == headless
    assert project["dependencies"] == [f"opencv-python-headless=={headless}"]
