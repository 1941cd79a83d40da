"""The package's import structure: every module imports on its own, the module import graph has no
cycle, and the core modules need no import hidden inside a function to break one.

The graph is read from the source with ast: the imports a module runs when it is imported (its
top-level statements, class bodies and module-level if/try blocks; not function bodies). An edge goes
to the module named, or to the submodule for ``from package import submodule``.
"""
import ast
import importlib.util
import os
import subprocess
import sys

import pytest

import firstepoch

PACKAGE_DIR = os.path.dirname(firstepoch.__file__)

# Modules whose function bodies must not import from firstepoch: such an import is how a cycle hides.
NO_FUNCTION_LEVEL_IMPORTS = [
    "tensor", "autograd", "autograd.function", "autograd.grad_mode", "autograd.anomaly", "autograd.engine",
    "autograd.gradcheck", "ops.elementwise", "ops.shape", "ops.reduce", "nn.functional", "nn.activation",
]


def _module_files():
    """{dotted module name: path} for every module of the package (compiled ones too: _C)."""
    out = {}
    for root, _, files in os.walk(PACKAGE_DIR):
        for f in files:
            stem = f.split(".")[0]
            if not (f.endswith(".py") or f.endswith((".so", ".pyd"))) or not stem.isidentifier():
                continue
            rel = os.path.relpath(os.path.join(root, stem), os.path.dirname(PACKAGE_DIR)).split(os.sep)
            if rel[-1] == "__init__":
                rel = rel[:-1]
            out[".".join(rel)] = os.path.join(root, f)
    # the compiled extension may be installed elsewhere (an editable install keeps it in site-packages)
    out.setdefault("firstepoch._C", importlib.util.find_spec("firstepoch._C").origin)
    return out


MODULES = _module_files()


def _is_package(name):
    return MODULES[name].endswith("__init__.py")


def _resolve(module, node):
    """The absolute module a `from ... import` statement in `module` reads from."""
    if node.level == 0:
        return node.module
    base = module.split(".")
    if not _is_package(module):
        base = base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _import_nodes(tree, in_functions):
    """Import statements run at import time (in_functions=False) or inside function bodies (True)."""
    def walk(node, inside):
        for child in ast.iter_child_nodes(node):
            now_inside = inside or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, (ast.Import, ast.ImportFrom)) and now_inside == in_functions:
                yield child
            yield from walk(child, now_inside)
    yield from walk(tree, False)


def _targets(module, node):
    """The firstepoch modules an import statement depends on."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        source = _resolve(module, node)
        names = [f"{source}.{a.name}" if f"{source}.{a.name}" in MODULES else source for a in node.names]
    return {n for n in names if n in MODULES}


def _parse(name):
    if not MODULES[name].endswith(".py"):
        return ast.Module(body=[], type_ignores=[])  # a compiled module imports nothing of ours
    with open(MODULES[name], encoding="utf-8") as f:
        return ast.parse(f.read(), MODULES[name])


def import_graph():
    return {m: {t for node in _import_nodes(_parse(m), False) for t in _targets(m, node)} - {m} for m in MODULES}


def find_cycles(graph):
    """Every cycle as a list of modules (one per strongly connected component with more than one
    module), by Tarjan's algorithm written iteratively."""
    index, low, on_stack, stack, comps = {}, {}, set(), [], []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, it = work[-1]
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        comp.append(m)
                        if m == node:
                            break
                    if len(comp) > 1:
                        comps.append(sorted(comp))
    return comps


def test_find_cycles_sees_a_cycle():
    """The detector's own check: a two-module cycle is found, a chain is not."""
    assert find_cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_the_package_import_graph_has_no_cycle():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles (each a group of modules that import each other):\n" + "\n".join(
        " <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("name", NO_FUNCTION_LEVEL_IMPORTS)
def test_no_firstepoch_import_inside_functions(name):
    full = f"firstepoch.{name}"
    late = [f"line {node.lineno}: imports {sorted(_targets(full, node))}"
            for node in _import_nodes(_parse(full), True) if _targets(full, node)]
    assert not late, f"{full} imports firstepoch modules inside functions (a hidden cycle?): {late}"


def _importable_modules():
    return sorted(m for m in MODULES if not m.endswith(".__main__"))


def test_every_module_imports_first_in_a_fresh_interpreter():
    """Each module imported before any other firstepoch module (its own process): the order of imports
    inside the package must not matter. Optional extras that are absent (torch, matplotlib, ...) are
    allowed to be missing; firstepoch's own modules must import."""
    code = ("import importlib, sys\n"
            "try:\n"
            "    importlib.import_module(sys.argv[1])\n"
            "except ModuleNotFoundError as e:\n"
            "    if (e.name or '').startswith('firstepoch'):\n"
            "        raise\n")
    failures = []
    names = _importable_modules()
    for i in range(0, len(names), 4):  # a few processes at a time
        procs = [(n, subprocess.Popen([sys.executable, "-c", code, n], stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True)) for n in names[i:i + 4]]
        for n, p in procs:
            out, _ = p.communicate(timeout=300)
            if p.returncode != 0:
                failures.append(f"{n}:\n{out[-2000:]}")
    assert not failures, "modules that fail to import first:\n" + "\n".join(failures)
