"""Write the intersphinx inventories of docs/conf.py from the installed packages.

The documentation builds with no network, so intersphinx reads these files
instead of each project's ``objects.inv``. Each inventory lists a package's
public objects at the addresses where its site documents them, by the page
layout of that site (scikit-learn: ``modules/generated/<name>.html``; NumPy and
SciPy: ``reference/generated/<name>.html``; matplotlib:
``api/_as_gen/<name>.html``), plus the few scikit-learn user-guide labels that
scikit-learn's inherited docstrings cite. A project's real inventory is a
drop-in replacement: ``curl -o docs/_intersphinx/numpy.inv
https://numpy.org/doc/stable/objects.inv``.

Run from the repository root after upgrading a package::

    python docs/_intersphinx/make_inventories.py
"""

import builtins
import importlib
import inspect
import pkgutil
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _public(names):
    return sorted(n for n in names if not n.startswith("_"))


def _exported(module):
    """A module's public names: its ``__all__``, else what it defines, else
    (a public facade of private modules) what it imports from them."""
    names = getattr(module, "__all__", None)
    if names is None:
        origin = {
            n: getattr(v, "__module__", None) or "" for n, v in vars(module).items()
        }
        names = [n for n, m in origin.items() if m.startswith(module.__name__)]
        if not _public(names):
            names = [n for n, m in origin.items() if "._" in m]
    return _public(names)


def _methods(cls):
    """The public methods of a class, inherited ones included."""
    return [
        n
        for n in _public(dir(cls))
        if callable(getattr(cls, n, None)) and not inspect.isclass(getattr(cls, n))
    ]


def _py_role(obj):
    if inspect.isclass(obj):
        return "py:exception" if issubclass(obj, BaseException) else "py:class"
    return "py:function"


def _write(name, version, entries):
    """Write an inventory (format version 2) of (name, role, priority, uri,
    display name) entries."""
    body = "".join(
        f"{full} {role} {prio} {uri} {disp or '-'}\n"
        for full, role, prio, uri, disp in sorted(set(entries))
    )
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {name}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    path = HERE / f"{name}.inv"
    path.write_bytes(header.encode() + zlib.compress(body.encode(), 9))
    print(f"{path.name}: {len(entries)} entries ({name} {version})")


def _objects(modname, page, methods_page=None):
    """Entries for a module's public classes and functions, and the methods of
    its classes; ``page(fullname)`` gives an object's page (anchored at the
    name) and ``methods_page(fullname)`` a method's (default: its class's
    page)."""
    module = importlib.import_module(modname)
    entries = []
    for name in _exported(module):
        try:
            obj = getattr(module, name, None)
        except ImportError:
            continue
        if obj is None or inspect.ismodule(obj) or not callable(obj):
            continue
        full = f"{modname}.{name}"
        entries.append((full, _py_role(obj), 1, f"{page(full)}#$", None))
        if inspect.isclass(obj):
            for meth in _methods(obj):
                mfull = f"{full}.{meth}"
                uri = methods_page(mfull) if methods_page else page(full)
                entries.append((mfull, "py:method", 1, f"{uri}#$", None))
    return entries


def sklearn_inventory():
    import sklearn
    from sklearn.experimental import (  # noqa: F401 (the experimental estimators)
        enable_halving_search_cv,
        enable_iterative_imputer,
    )

    modules = ["sklearn"] + [
        f"sklearn.{m.name}"
        for m in pkgutil.iter_modules(sklearn.__path__)
        if not m.name.startswith("_") and m.name not in ("tests", "externals")
    ]
    utils = importlib.import_module("sklearn.utils")
    helpers = [
        f"sklearn.utils.{m.name}"
        for m in pkgutil.iter_modules(utils.__path__)
        if not m.name.startswith("_") and m.name != "tests"
    ]
    entries = []
    for modname in modules:
        try:
            importlib.import_module(modname)
        except Exception:  # an experimental module that needs an extra
            continue
        entries.append((modname, "py:module", 0, f"api/{modname}.html#module-$", None))
        if modname == "sklearn":
            continue
        entries += _objects(modname, lambda full: f"modules/generated/{full}.html")
    # sklearn.utils' submodules are documented on the sklearn.utils page.
    for modname in helpers:
        try:
            importlib.import_module(modname)
        except Exception:
            continue
        uri = f"api/sklearn.utils.html#module-{modname}"
        entries.append((modname, "py:module", 0, uri, None))
        entries += _objects(modname, lambda full: f"modules/generated/{full}.html")
    for name in ("config_context", "get_config", "set_config", "show_versions"):
        full = f"sklearn.{name}"
        entries.append(
            (full, "py:function", 1, f"modules/generated/{full}.html#$", None)
        )
    # sklearn.clone is documented as sklearn.base.clone.
    entries.append(
        (
            "sklearn.clone",
            "py:function",
            1,
            "modules/generated/sklearn.base.clone.html#sklearn.base.clone",
            None,
        )
    )
    # The user-guide sections that the docstrings of inherited methods cite.
    labels = {
        "metadata_routing": ("metadata_routing.html", "Metadata Routing"),
        "df_output_transform": (
            "modules/df_output_transform.html",
            "Pandas/Polars Output for Transformers with set_output API",
        ),
        "sphx_glr_auto_examples_miscellaneous_plot_set_output.py": (
            "auto_examples/miscellaneous/plot_set_output.html",
            "Introducing the set_output API",
        ),
        "rolling_your_own_estimator": (
            "developers/develop.html",
            "Developing scikit-learn estimators",
        ),
        "glossary": ("glossary.html", "Glossary of Common Terms and API Elements"),
        "user_guide": ("user_guide.html", "User Guide"),
    }
    for label, (page, title) in labels.items():
        anchor = label.replace("_", "-").replace(".", "-")
        entries.append((label, "std:label", -1, f"{page}#{anchor}", title))
    _write("sklearn", sklearn.__version__, entries)


def numpy_inventory():
    import numpy as np

    def generated(full):
        return f"reference/generated/{full}.html"

    entries = [
        ("numpy", "py:module", 1, "reference/index.html#module-$", None),
        (
            "numpy.linalg",
            "py:module",
            1,
            "reference/routines.linalg.html#module-$",
            None,
        ),
        ("numpy.random", "py:module", 1, "reference/random/index.html#module-$", None),
    ]
    for modname, module in (("numpy", np), ("numpy.linalg", np.linalg)):
        for name in _public(dir(module)):
            obj = getattr(module, name)
            if callable(obj) and not inspect.isclass(obj):
                full = f"{modname}.{name}"
                entries.append((full, "py:function", 1, f"{generated(full)}#$", None))
    for cls in ("ndarray", "dtype"):
        full = f"numpy.{cls}"
        entries.append((full, "py:class", 1, f"{generated(full)}#$", None))
        for meth in _methods(getattr(np, cls)):
            mfull = f"{full}.{meth}"
            entries.append((mfull, "py:method", 1, f"{generated(mfull)}#$", None))
    random_pages = {"Generator": "generator", "RandomState": "legacy"}
    for cls, page in random_pages.items():
        full = f"numpy.random.{cls}"
        entries.append((full, "py:class", 1, f"reference/random/{page}.html#$", None))
        for meth in _methods(getattr(np.random, cls)):
            mfull = f"{full}.{meth}"
            uri = f"reference/random/generated/{mfull}.html#$"
            entries.append((mfull, "py:method", 1, uri, None))
    entries.append(
        (
            "numpy.random.default_rng",
            "py:function",
            1,
            "reference/random/generator.html#$",
            None,
        )
    )
    _write("numpy", np.__version__, entries)


def scipy_inventory():
    import scipy

    entries = []
    for modname in (
        "scipy.linalg",
        "scipy.sparse",
        "scipy.sparse.linalg",
        "scipy.optimize",
        "scipy.stats",
        "scipy.special",
    ):
        page = f"reference/{modname.removeprefix('scipy.')}.html#module-$"
        entries.append((modname, "py:module", 1, page, None))
        entries += _objects(
            modname,
            lambda full: f"reference/generated/{full}.html",
            lambda mfull: f"reference/generated/{mfull}.html",
        )
    _write("scipy", scipy.__version__, entries)


def matplotlib_inventory():
    import matplotlib
    import matplotlib.axes
    import matplotlib.figure
    import matplotlib.pyplot as plt

    def gen(full):
        return f"api/_as_gen/{full}.html#$"

    entries = [
        ("matplotlib.pyplot", "py:module", 1, "api/pyplot_summary.html#module-$", None),
        ("matplotlib.axes", "py:module", 1, "api/axes_api.html#module-$", None),
        ("matplotlib.figure", "py:module", 1, "api/figure_api.html#module-$", None),
        ("matplotlib.axes.Axes", "py:class", 1, "api/axes_api.html#$", None),
        ("matplotlib.figure.Figure", "py:class", 1, "api/figure_api.html#$", None),
    ]
    for name in _public(dir(plt)):
        obj = getattr(plt, name)
        if inspect.isfunction(obj) and obj.__module__ == "matplotlib.pyplot":
            full = f"matplotlib.pyplot.{name}"
            entries.append((full, "py:function", 1, gen(full), None))
    for cls in (matplotlib.axes.Axes, matplotlib.figure.Figure):
        for meth in _methods(cls):
            mfull = f"{cls.__module__.split('._')[0]}.{cls.__name__}.{meth}"
            entries.append((mfull, "py:method", 1, gen(mfull), None))
    _write("matplotlib", matplotlib.__version__, entries)


def python_inventory():
    import sys

    modules = (
        "abc argparse collections contextlib copy csv dataclasses functools gzip "
        "inspect io itertools json logging math multiprocessing numbers os "
        "pathlib pickle random re shutil string subprocess sys tempfile "
        "threading time types typing warnings zlib"
    ).split()
    entries = [(m, "py:module", 0, f"library/{m}.html#module-$", None) for m in modules]
    stdtypes = {"dict", "frozenset", "list", "range", "set", "str", "tuple", "bytes"}
    for name in _public(dir(builtins)):
        obj = getattr(builtins, name)
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            entries.append((name, "py:exception", 1, "library/exceptions.html#$", None))
        elif name in stdtypes:
            entries.append((name, "py:class", 1, "library/stdtypes.html#$", None))
        elif inspect.isclass(obj) and name in {
            "bool",
            "float",
            "int",
            "object",
            "type",
        }:
            entries.append((name, "py:class", 1, "library/functions.html#$", None))
        elif inspect.isbuiltin(obj):
            entries.append((name, "py:function", 1, "library/functions.html#$", None))
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    _write("python", version, entries)


if __name__ == "__main__":
    sklearn_inventory()
    numpy_inventory()
    scipy_inventory()
    matplotlib_inventory()
    python_inventory()
