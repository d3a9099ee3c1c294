"""Imports run down the layers: a module never imports one from a higher layer.

The layers, lowest first, are ``LAYERS``; a module belongs to the layer of its longest listed
prefix. HTTP and command-line adapters (any module importing FastAPI, Starlette or Typer) and
the composition root sit on top, since they wire the domains together. Within a layer imports
are free. Today's known back-up arrows are listed in ``KNOWN_BACK_UP_ARROWS`` with the issue
that removes them; the list may only shrink: a new arrow fails, and so does a listed one that
is gone (delete its line).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ebrcs"

LAYERS: list[tuple[str, ...]] = [
    ("ebrcs", "ebrcs.config", "ebrcs.errors", "ebrcs.metrics", "ebrcs.imaging", "ebrcs.db"),
    ("ebrcs.auth",),
    ("ebrcs.embedding",),
    ("ebrcs.adaptation", "ebrcs.recognition"),
    ("ebrcs.catalog",),
    ("ebrcs.evaluation",),
    ("ebrcs.checkout",),
    ("ebrcs.orders",),
    (
        "ebrcs.runtime",
        "ebrcs.http_errors",
        "ebrcs.system",
        "ebrcs.web",
        "ebrcs.app",
        "ebrcs.server",
        "ebrcs.cli",
        "ebrcs.__main__",
        "ebrcs.db.migrations",
    ),
]
"""Lowest first. A module may import its own layer and the ones below."""

INTERFACE_LIBRARIES = frozenset({"fastapi", "starlette", "typer"})
"""A module importing one of these adapts the domains to HTTP or a command line: top layer."""

KNOWN_BACK_UP_ARROWS: dict[tuple[str, str], str] = {}
"""(importer, imported) pairs that run up the layers today, each with the issue removing it."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """Every module of the package (or other top-level library) that ``path`` imports."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                yield submodule if submodule in modules else node.module


def _layer_of(module: str, imported: set[str]) -> int:
    if any(name.split(".")[0] in INTERFACE_LIBRARIES for name in imported):
        return len(LAYERS) - 1
    best, rank = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), index
    assert rank >= 0, f"{module} is in no layer: add it to LAYERS"
    return rank


def back_up_arrows() -> set[tuple[str, str]]:
    """Every (importer, imported) pair of package modules where the imported is higher."""
    modules = _modules()
    imports = {name: set(_imports(path, modules)) for name, path in modules.items()}
    layer = {name: _layer_of(name, imports[name]) for name in modules}
    return {
        (importer, imported)
        for importer, names in imports.items()
        for imported in names
        if imported in layer and layer[imported] > layer[importer]
    }


def test_no_new_import_runs_up_the_layers() -> None:
    new = sorted(back_up_arrows() - set(KNOWN_BACK_UP_ARROWS))
    assert new == [], "imports from a lower layer to a higher one: " + ", ".join(
        f"{importer} -> {imported}" for importer, imported in new
    )


def test_every_known_back_up_arrow_still_exists() -> None:
    """The allowlist only shrinks: an arrow that was removed loses its line."""
    assert sorted(set(KNOWN_BACK_UP_ARROWS) - back_up_arrows()) == []


def test_an_import_from_a_domain_into_the_web_layer_is_caught(tmp_path: Path) -> None:
    """The walk sees an upward import (checked on the real graph's own rules)."""
    modules = {"ebrcs.catalog.service": tmp_path / "s.py", "ebrcs.app": tmp_path / "a.py"}
    modules["ebrcs.catalog.service"].write_text("from ebrcs.app import create_app\n")
    imported = set(_imports(modules["ebrcs.catalog.service"], modules))
    assert imported == {"ebrcs.app"}
    assert _layer_of("ebrcs.app", set()) > _layer_of("ebrcs.catalog.service", imported)
