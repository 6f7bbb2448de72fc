"""The house's shape, checked: no import cycle, no import from a lower layer to a higher one,
no module over about 400 lines (docs/architecture.md). Inner imports count."""
from pathlib import Path

import pytest

from tests.architecture import import_graph

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def graph():
    return import_graph.build(str(ROOT))


def test_the_project_has_no_import_cycle(graph):
    assert import_graph.cycles(graph) == []


def test_no_module_imports_a_higher_layer(graph):
    assert import_graph.upward_imports(graph) == []


def test_every_module_has_a_layer(graph):
    assert import_graph.unlayered(graph) == []


def test_no_module_is_over_400_lines(graph):
    assert import_graph.long_modules(graph) == []


def test_services_never_import_tasks(graph):
    tasks = {m for m in graph.modules if m.endswith(".tasks")}
    importers = {m for m, targets in graph.edges.items() if targets & tasks}
    assert importers <= tasks | {"config.celery"}


def test_nothing_below_the_edges_imports_drf(graph):
    below_edges = [m for m in graph.modules
                   if import_graph.layer_of(m) < len(import_graph.LAYERS) - 1]
    with_drf = [m for m in below_edges if graph.external[m] & {"rest_framework", "drf_spectacular"}]
    assert with_drf == []
    assert "rest_framework" in graph.external["chats.api.views"]  # the check sees DRF where it is


# --- the checker itself can fail ---------------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_checker_finds_a_cycle_hidden_in_a_function(tmp_path):
    _write(tmp_path, {
        "app/__init__.py": "",
        "app/a.py": "from app import b\n",
        "app/b.py": "def later():\n    from app.a import thing\n",
        "app/c.py": "import app.a\n",
    })
    graph = import_graph.build(str(tmp_path), packages=("app",))
    assert import_graph.cycles(graph) == [["app.a", "app.b"]]


def test_the_checker_finds_an_upward_import_and_a_long_module(tmp_path):
    _write(tmp_path, {
        "app/__init__.py": "",
        "app/low.py": "from app.high import x\n" + "# filler\n" * 400,
        "app/high.py": "from app import low\n",
    })
    layers = [("low", ("app", "app.low")), ("high", ("app.high",))]
    graph = import_graph.build(str(tmp_path), packages=("app",))
    assert import_graph.upward_imports(graph, layers) == ["app.low (low) -> app.high (high)"]
    assert import_graph.long_modules(graph) == ["app.low: 401 lines"]
