"""The import graph of the project's own modules, and the layers it must respect.

Every `import` and `from … import` is read, at any depth (inside functions too: an inner
import is no way around a cycle), and resolved to the project's modules. Tests and
migrations are left out. docs/architecture.md draws the same layers.
"""
from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field

PACKAGES = ("chats", "consent", "templates_app", "media_links", "config")
SKIPPED_DIRS = {"tests", "migrations", "static", "templates", "__pycache__"}
MAX_LINES = 400

# Lowest first. A module may import its own layer and those below, never one above; the
# longest prefix that names a module decides its layer.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", (
        "chats.models", "chats.compliance.append_only", "chats.media.storage", "chats.errors", "chats.jobs", "chats.process_cache", "chats.apps", "chats.whatsapp",
        "consent.models", "consent.apps", "templates_app.models", "templates_app.languages", "templates_app.apps",
        "media_links.models", "media_links.apps", "chats", "consent", "templates_app", "media_links",
    )),
    ("records", (
        "chats.compliance", "chats.realtime.events", "chats.realtime.payloads", "consent.selectors",
        "chats.integration.feed", "chats.integration.addresses",
        "templates_app.selectors", "templates_app.rendering", "media_links.selectors",
    )),
    ("delivery", ("chats.delivery", "chats.media", "chats.notifications")),
    ("rules", (
        "chats.conversations.policy", "chats.conversations.phrases", "chats.conversations.phrase_text", "chats.conversations.skeleton",
        "chats.conversations.announcements", "chats.conversations.waiting", "chats.notifications.notices",
        "chats.inbox", "chats.media.access", "chats.safety", "consent.services", "templates_app.services", "media_links.services",
    )),
    ("use cases", ("chats.conversations.sending", "chats.conversations.reactions", "chats.integration")),
    ("ingress", ("chats.ingress",)),
    ("devtools", ("chats.devtools",)),
    ("edges", (
        "chats.api", "chats.web", "chats.admin", "chats.management", "chats.realtime.consumer", "chats.realtime.origin",
        "chats.realtime.auth", "chats.realtime.routing", "chats.tasks", "chats.compliance.tasks",
        "templates_app.tasks", "templates_app.admin", "templates_app.resources", "consent.admin",
        "media_links.admin", "media_links.views", "config",
    )),
]


@dataclass
class Graph:
    modules: dict[str, str]  # dotted name -> file path
    edges: dict[str, set[str]] = field(default_factory=dict)
    external: dict[str, set[str]] = field(default_factory=dict)  # module -> top-level packages of others


def build(root: str, packages: tuple[str, ...] = PACKAGES) -> Graph:
    modules = {}
    for package in packages:
        for directory, dirs, files in os.walk(os.path.join(root, package)):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(directory, name)
                    dotted = os.path.relpath(path, root)[:-3].replace(os.sep, ".")
                    modules[dotted.removesuffix(".__init__")] = path
    graph = Graph(modules, {m: set() for m in modules}, {m: set() for m in modules})
    for module, path in modules.items():
        with open(path, encoding="utf-8") as source:
            tree = ast.parse(source.read(), path)
        package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
        for node in ast.walk(tree):
            for target in _targets(node, package):
                resolved = _resolve(target, modules)
                if resolved and resolved != module:
                    graph.edges[module].add(resolved)
                elif resolved is None and target and not getattr(node, "level", 0):
                    graph.external[module].add(target.split(".")[0])
    return graph


def _targets(node: ast.AST, package: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            parts = package.split(".")
            parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join(parts + ([base] if base else []))
        return [f"{base}.{alias.name}" for alias in node.names] + [base]
    return []


def _resolve(name: str, modules: dict[str, str]) -> str | None:
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], 0
    for start in graph.modules:
        if start in index:
            continue
        work = [(start, iter(sorted(graph.edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def layer_of(module: str, layers=LAYERS) -> int | None:
    best, best_length = None, -1
    for rank, (_, prefixes) in enumerate(layers):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = rank, len(prefix)
    return best


def upward_imports(graph: Graph, layers=LAYERS) -> list[str]:
    """Each import from a module to one of a higher layer, as 'a (layer) -> b (layer)'."""
    names = [name for name, _ in layers]
    found = []
    for module, targets in sorted(graph.edges.items()):
        mine = layer_of(module, layers)
        for target in sorted(targets):
            theirs = layer_of(target, layers)
            if mine is not None and theirs is not None and theirs > mine:
                found.append(f"{module} ({names[mine]}) -> {target} ({names[theirs]})")
    return found


def unlayered(graph: Graph, layers=LAYERS) -> list[str]:
    return sorted(m for m in graph.modules if layer_of(m, layers) is None)


def long_modules(graph: Graph, limit: int = MAX_LINES) -> list[str]:
    found = []
    for module, path in sorted(graph.modules.items()):
        with open(path, encoding="utf-8") as source:
            lines = sum(1 for _ in source)
        if lines > limit:
            found.append(f"{module}: {lines} lines")
    return found
