"""The package's shape, checked from its source: dependencies run one way.

signals -> api packages (unmixing, windowing, neighborhoods; phases above
the first two) -> _signal_io / _validation -> _core. The graph is built with
``ast`` from every import statement, at module level and inside functions
(a lazy import is still a dependency). The gallery's scripts in ``examples/``
are not modules of that graph: they are data that the demo runs by path.
"""

import ast
import inspect
from pathlib import Path

import pytest

import hyperspy_unmix

ROOT = Path(hyperspy_unmix.__file__).parent
PACKAGE = "hyperspy_unmix"

# Imports that run upwards on purpose, each kept for one release only:
# deprecated paths that forward to the module that now holds the function.
DEPRECATED_EDGES = {
    ("hyperspy_unmix.unmixing.result", "hyperspy_unmix.phases"),
}

API_PACKAGES = ("unmixing", "windowing", "neighborhoods")
SHARED = ("_signal_io", "_validation", "_progress", "_result_io")


def _module_name(path):
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


EXAMPLES = ROOT / "examples"


def _modules():
    return {
        _module_name(p): p
        for p in ROOT.rglob("*.py")
        if EXAMPLES not in p.parents  # scripts run by path, not modules
    }


def _imports(path, modules):
    """Our modules that ``path`` imports (module level and in functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from pkg import sub` imports the submodule if there is one
            names = [
                f"{node.module}.{a.name}"
                if f"{node.module}.{a.name}" in modules
                else node.module
                for a in node.names
            ]
        else:
            continue
        found.update(n for n in names if n.split(".")[0] == PACKAGE)
    return found


@pytest.fixture(scope="module")
def graph():
    modules = _modules()
    return {
        name: {m for m in _imports(path, modules) if m in modules and m != name}
        for name, path in modules.items()
    }


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_sees_our_imports(graph):
    # guards against a graph that is empty because the parser missed them
    assert "hyperspy_unmix._core.simplex" in graph["hyperspy_unmix.unmixing._pipeline"]
    assert "hyperspy_unmix.unmixing" in graph["hyperspy_unmix.phases"]
    assert ("hyperspy_unmix.phases") in graph["hyperspy_unmix.unmixing.result"]


def test_no_import_cycle(graph):
    pruned = {
        v: {w for w in ws if (v, w) not in DEPRECATED_EDGES} for v, ws in graph.items()
    }
    assert _cycles(pruned) == []


def test_cycle_detector_finds_a_planted_cycle(graph):
    planted = {v: set(ws) for v, ws in graph.items()}
    planted["hyperspy_unmix._core.simplex"].add("hyperspy_unmix.unmixing.api")
    assert _cycles(planted)


def test_core_imports_neither_hyperspy_nor_the_layers_above():
    for path in (ROOT / "_core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in ("hyperspy", "atomap", "exspy"), (
                    f"{path.name} imports {name}"
                )
                if name.split(".")[0] == PACKAGE:
                    assert name.startswith(f"{PACKAGE}._core"), (
                        f"{path.name} imports {name} from above _core"
                    )


def test_dependencies_run_one_way(graph):
    for v, ws in graph.items():
        for w in ws:
            if (v, w) in DEPRECATED_EDGES or w == PACKAGE:
                # (the root holds __version__ and imports nothing eagerly)
                continue
            layer_v, layer_w = v.split(".")[1:2], w.split(".")[1]
            if layer_w == "signals":  # nothing below the signals imports them
                assert layer_v and layer_v[0] in ("signals", "data"), (v, w)
            if layer_w == "phases":  # phases sits above the analyses
                assert layer_v and layer_v[0] == "signals", (v, w)
            if layer_v and layer_v[0] in SHARED:
                assert layer_w in SHARED or layer_w == "_core", (v, w)
            if layer_v and layer_v[0] in API_PACKAGES:
                assert layer_w in (layer_v[0], "_core", "components", *SHARED), (v, w)


def test_the_demo_runs_the_examples_and_imports_no_analysis(graph):
    # it runs the gallery's scripts by path; what they show, they import
    assert graph["hyperspy_unmix.demo"] == set()
    assert not any(
        m.startswith("hyperspy_unmix.examples") for ms in graph.values() for m in ms
    )


def test_examples_use_the_public_api_only():
    scripts = sorted(EXAMPLES.rglob("plot_*.py"))
    assert scripts
    modules = _modules()
    for path in scripts:
        used = _imports(path, modules)
        private = [m for m in used if any(p.startswith("_") for p in m.split("."))]
        assert private == [], f"{path.name} imports {private}"


PRIVATE_HYPERSPY = (
    "hyperspy._",
    "._deepcopy_with_new_data",
    "._plot",
    "._lazy",
    ".axes_manager._",
    "._get_axes_dicts",
    "._assign_subclass",
)


def test_no_private_hyperspy_api_in_our_code():
    """Imports and attribute access: what HyperSpy 3.0 may remove."""
    offenders = []
    for p in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(p.read_text())):
            text = None
            if isinstance(node, ast.Attribute):
                text = f".{node.attr}"
                if isinstance(node.value, ast.Attribute):
                    text = f".{node.value.attr}.{node.attr}"
            elif isinstance(node, ast.ImportFrom) and node.module:
                text = node.module
            elif isinstance(node, ast.Import):
                text = " ".join(a.name for a in node.names)
            if text and any(text.startswith(s) or s in text for s in PRIVATE_HYPERSPY):
                offenders.append(f"{p.relative_to(ROOT)}:{node.lineno}: {text}")
    assert offenders == []


def test_signal_methods_show_every_keyword():
    from hyperspy_unmix import neighborhood_pca, nfindr_unmix, segment_phases
    from hyperspy_unmix import sliding_fft as sliding_fft_function
    from hyperspy_unmix.signals import (
        AtomicResolutionImage,
        LazySlidingFFT,
        SlidingFFT,
        SpectralMap,
    )

    pairs = [
        (SpectralMap.nfindr_unmix, nfindr_unmix),
        (SlidingFFT.nfindr_unmix, nfindr_unmix),
        (LazySlidingFFT.nfindr_unmix, nfindr_unmix),
        (AtomicResolutionImage.nfindr_unmix, nfindr_unmix),
        (AtomicResolutionImage.sliding_fft, sliding_fft_function),
        (AtomicResolutionImage.segment_phases, segment_phases),
        (AtomicResolutionImage.neighborhood_pca, neighborhood_pca),
    ]
    for method, func in pairs:
        m = list(inspect.signature(method).parameters)
        f = list(inspect.signature(func).parameters)
        assert m[0] == "self" and m[1:] == f[1:], (method, m, f)
        assert len(m) > 3  # the keywords themselves, not **kwargs
        assert "kwargs" not in m or "kwargs" in f
        assert func.__doc__.split("\n")[0].strip() in method.__doc__
