"""The import structure the README's architecture map describes, checked on the source itself.

Every ``import`` of every module of the package is read (including those inside functions,
which would otherwise hide a cycle), and two rules are checked:

1. a feature's route module never imports another feature's route module (shared helpers
   belong to the web layer, the idea page's composition, or the feature's services);
2. a lower layer never imports a higher one: foundation < security < models < services <
   web helpers < interfaces (routes, forms, commands, page composition) < the app factory.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ideastorm"

FOUNDATION, SECURITY, MODELS, SERVICES, WEB, INTERFACE, APP = range(7)
LAYER_NAMES = ["foundation", "security", "models", "services", "web helpers", "interfaces", "app factory"]

# Modules named by their dotted path inside the package ('' is the package itself).
FOUNDATION_MODULES = {"config", "extensions", "timeutil", "i18n", "markdown", "database", "domain", "roles"}
WEB_MODULES = {"web", "errors", "templating"}
INTERFACE_MODULES = {"cli", "outbox_cli", "worker", "gunicorn_config"}
INTERFACE_LEAVES = {"routes", "forms", "cli", "page"}
MODEL_MODULES = {"models", "outbox"}  # outbox: the event model and emit(), called inside transactions


def layer_of(module: str) -> int:
    parts = module.split(".") if module else []
    if not parts:
        return APP
    if module in FOUNDATION_MODULES:
        return FOUNDATION
    if parts[0] == "security":
        return SECURITY
    if module in WEB_MODULES:
        return WEB
    if module in INTERFACE_MODULES or parts[-1] in INTERFACE_LEAVES:
        return INTERFACE
    if module in MODEL_MODULES or parts[-1] == "models":
        return MODELS
    return SERVICES


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> set[str]:
    """Every module of the package that ``path`` imports, as dotted names inside the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    here = module.split(".") if module else []
    package = here if is_package else here[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "ideastorm" or alias.name.startswith("ideastorm."):
                    found.add(alias.name.removeprefix("ideastorm").lstrip("."))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module and (node.module == "ideastorm" or node.module.startswith("ideastorm.")):
                target = node.module.removeprefix("ideastorm").lstrip(".")
            else:
                continue
            # `from . import outbox` names a module; `from .web import render` names a function.
            for alias in node.names:
                candidate = f"{target}.{alias.name}" if target else alias.name
                found.add(candidate if _is_module(candidate) else target)
    found.discard(module)
    return found


def _is_module(dotted: str) -> bool:
    path = PACKAGE.joinpath(*dotted.split(".")) if dotted else PACKAGE
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        graph[module] = _imports(path, module)
    return graph


GRAPH = _graph()


def _feature(module: str) -> str:
    return module.split(".")[0]


def test_the_graph_is_read():
    # Guards the test itself: known edges are seen, including relative and in-function imports.
    assert "web" in GRAPH["ideas.routes"]
    assert "ideas.page" in GRAPH["comments.routes"]
    assert "outbox" in GRAPH["ideas.services"]
    assert layer_of("ideas.routes") == INTERFACE and layer_of("ideas.services") == SERVICES
    assert layer_of("security.permissions") == SECURITY and layer_of("roles") == FOUNDATION


def test_no_route_module_imports_another_features_routes():
    offences = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items() if module.endswith("routes")
        for target in targets
        if target.endswith("routes") and _feature(target) != _feature(module)
    ]
    assert not offences, "\n".join(offences)


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if layer_of(m) < INTERFACE))
def test_lower_layers_do_not_import_higher_ones(module):
    own = layer_of(module)
    offences = [
        f"{module} ({LAYER_NAMES[own]}) imports {target} ({LAYER_NAMES[layer_of(target)]})"
        for target in sorted(GRAPH[module])
        if layer_of(target) > own
    ]
    assert not offences, "\n".join(offences)


def test_security_depends_on_the_foundation_only():
    above = {t for t in GRAPH["security.permissions"] if layer_of(t) > FOUNDATION}
    assert not above, above


def test_the_architecture_map_names_every_package():
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    map_section = readme.split("## Architecture map", 1)[1]
    packages = sorted({m.split(".")[0] for m in GRAPH if m} - {"static", "translations"})
    missing = [p for p in packages if f"{p}/" not in map_section and f"{p}.py" not in map_section]
    assert not missing, f"README's architecture map does not mention: {missing}"
