"""Architecture rules a reviewer would otherwise have to remember."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("sagalab", "scenarios", "choreography", "orchestration", "shared")
MAY_IMPORT = {
    "sagalab": {"sagalab", "scenarios", "choreography", "orchestration", "shared"},
    "scenarios": {"scenarios", "choreography", "orchestration", "shared"},
    "choreography": {"choreography", "shared"},
    "orchestration": {"orchestration", "shared"},
    "shared": {"shared"},
}
"""Imports flow one way: sagalab -> scenarios -> choreography, orchestration -> shared."""
SHARED_MAY_IMPORT = {
    "shared.domain": {"shared.domain"},
    "shared.transport": {"shared.domain", "shared.transport"},
    "shared.stores": {"shared.domain", "shared.transport.wire", "shared.stores"},
}
"""Inside shared, the rooms import downwards: domain <- transport <- stores <- runtime."""
DOMAIN_THIRD_PARTY = {"pydantic", "pydantic_core"}
TRANSPORT_LIBRARIES = ("aio_pika", "aiormq", "pamqp")
LOCAL_IMPORTS_ALLOWED = {("sagalab/cli.py", "sagalab.commands"), ("sagalab/cli.py", "sagalab.catalogue_view"),
                         ("shared/stores/postgres.py", "psycopg"), ("orchestration/wiring.py", "orchestration.bootstrap")}
"""Function-local imports, each for a reason written beside it (one statement in the CLI's dispatch: a service
process never loads the lab; psycopg, loaded only by a PostgreSQL store; the interpreter, loaded only by the
orchestrator's process, never by a participant's)."""
FORBIDDEN_IN_DOMAIN = ("aio_pika", "aiormq", "pika", "choreography", "orchestration", "shared.transport",
                       "shared.runtime", "shared.stores", "sqlite3")  # fmt: skip


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domain_code_imports_no_transport_store_or_mode() -> None:
    """shared/domain/services knows nothing of aio-pika, SQLite, or either mode: both modes run it unchanged."""
    for path in (ROOT / "shared" / "domain" / "services").glob("*.py"):
        bad = {n for n in _imports(path) if n.split(".")[0] in FORBIDDEN_IN_DOMAIN or n.startswith(FORBIDDEN_IN_DOMAIN)}
        assert not bad, f"{path.name} imports {bad}"


def test_only_the_broker_adapter_imports_aio_pika() -> None:
    """All aio-pika code sits in shared/transport (examples/ are participants outside sagalab, with their own client)."""
    for path in ROOT.glob("*/**/*.py"):
        if "transport" in path.parts or ".venv" in path.parts or ".sagalab" in path.parts or "tests" in path.parts or path.parts[len(ROOT.parts)] == "examples":
            continue
        assert not {n for n in _imports(path) if n.startswith(("aio_pika", "aiormq"))}, path


def test_every_module_says_what_it_is_for() -> None:
    """Each module of the five packages opens with a docstring."""
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            if path.name == "__init__.py" and not tree.body:
                continue
            assert ast.get_docstring(tree), f"{path.relative_to(ROOT)} has no module docstring"


def test_every_folder_says_what_it_is_for_and_may_import() -> None:
    """Each package folder opens its __init__.py with a docstring that says what it may import."""
    for package in PACKAGES:
        for folder in [ROOT / package, *(p for p in (ROOT / package).rglob("*") if p.is_dir())]:
            if folder.name == "__pycache__" or not any(folder.glob("*.py")):
                continue
            init = folder / "__init__.py"
            assert init.exists(), f"{folder.relative_to(ROOT)} has no __init__.py"
            doc = ast.get_docstring(ast.parse(init.read_text())) or ""
            assert "import" in doc, f"{init.relative_to(ROOT)} does not say what it is for and what it may import"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def _imported(module: str, path: Path) -> list[tuple[str, bool]]:
    """Every module name an import statement of ``module`` names, relative ones resolved, TYPE_CHECKING ones
    included (they tie two modules together just the same), with whether it sits inside a function."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((a.name, inside) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    up = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join(up + ([base] if base else []))
                found.append((base, inside))
                found.extend((f"{base}.{a.name}", inside) for a in child.names)
            visit(child, inside)

    visit(ast.parse(path.read_text()), False)
    return found


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for name, _ in _imported(module, path):
            target = _resolve(name, modules)
            if target and target != module:
                graph[module].add(target)
    return graph


def test_imports_flow_one_way_between_the_top_level_packages() -> None:
    """sagalab -> scenarios -> choreography, orchestration -> shared, and never back."""
    bad = [f"{m} imports {t}" for m, targets in _graph().items() for t in targets
           if t.split(".")[0] not in MAY_IMPORT[m.split(".")[0]]]  # fmt: skip
    assert not bad, "\n".join(sorted(bad))


def test_shared_rooms_import_downwards_only() -> None:
    """shared/domain imports only itself; transport only the domain; stores the domain and the wire format."""
    bad = []
    for module, targets in _graph().items():
        room = next((r for r in SHARED_MAY_IMPORT if module == r or module.startswith(r + ".")), None)
        if room is None:
            continue
        allowed = SHARED_MAY_IMPORT[room]
        bad += [f"{module} imports {t}" for t in targets if not any(t == a or t.startswith(a + ".") for a in allowed)]
    assert not bad, "\n".join(sorted(bad))


def test_the_domain_uses_only_the_standard_library_and_pydantic() -> None:
    """No I/O library, no broker client, nothing third-party but pydantic in shared/domain."""
    for path in (ROOT / "shared" / "domain").rglob("*.py"):
        for name, _ in _imported(_module_name(path), path):
            top = name.split(".")[0]
            if top and top not in PACKAGES:
                assert top in sys.stdlib_module_names or top in DOMAIN_THIRD_PARTY, f"{path.relative_to(ROOT)}: {name}"


def test_only_shared_transport_imports_the_amqp_client_libraries() -> None:
    """aio-pika, aiormq and pamqp appear in shared/transport and nowhere else in the five packages."""
    for module, path in _modules().items():
        if module.startswith("shared.transport"):
            continue
        names = {n for n, _ in _imported(module, path)}
        assert not {n for n in names if n.split(".")[0] in TRANSPORT_LIBRARIES}, module


def test_no_import_circles() -> None:
    """No two project modules import each other, directly or through others (Tarjan's strongly connected
    components over the import graph)."""
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not circles, "import circles: " + "; ".join(", ".join(c) for c in circles)


def test_imports_sit_at_the_top_of_modules() -> None:
    """An import inside a function is only for a heavy optional one with its reason beside it, never to dodge a
    circle: the allowed ones are listed above."""
    local = {(str(path.relative_to(ROOT)), name) for module, path in _modules().items()
             for name, inside in _imported(module, path) if inside}  # fmt: skip
    # ``from sagalab import commands`` names both ``sagalab`` and ``sagalab.commands``: allowing one allows both
    unexpected = {(f, n) for f, n in local if not any(f == af and (an + ".").startswith(n + ".")
                                                      for af, an in LOCAL_IMPORTS_ALLOWED)}  # fmt: skip
    assert not unexpected, sorted(unexpected)
