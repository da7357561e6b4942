"""Sphinx configuration: numpydoc API reference and a sphinx-gallery of examples.

Build with warnings as errors (what .ci/run does):

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

import os
import sys
import warnings

import matplotlib

matplotlib.use("Agg")

sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.abspath("sphinxext"))

from skfactor_sphinx import resolve_bare_names

import skfactor
from skfactor._doc_link import DOCS_URL

project = "skfactor"
author = "the skfactor developers"
copyright = "2026, the skfactor developers"
release = skfactor.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    # MathJax served from _static/mathjax (the sphinx-mathjax-offline package):
    # the equations render with no network, and no CDN is named in the pages.
    "sphinx-mathjax-offline",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
root_doc = "index"

autosummary_generate = True
# "fit()", not "FactorizationNAG.fit()", in the page's table of contents: the
# long names were clipped by the theme's narrow right column.
toc_object_entries_show_parents = "hide"
autodoc_default_options = {"members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Cross-references that numpydoc cannot resolve are reported, not guessed.
numpydoc_xref_param_type = False

# Links into scikit-learn, NumPy, SciPy, matplotlib and Python resolve from
# the inventories in _intersphinx/, so the build needs no network. They are
# made from the installed packages by _intersphinx/make_inventories.py; each
# project's own objects.inv is a drop-in replacement.
intersphinx_mapping = {
    name: (url, f"_intersphinx/{name}.inv")
    for name, url in {
        "python": "https://docs.python.org/3/",
        "numpy": "https://numpy.org/doc/stable/",
        "scipy": "https://docs.scipy.org/doc/scipy/",
        "sklearn": "https://scikit-learn.org/stable/",
        "matplotlib": "https://matplotlib.org/stable/",
    }.items()
}

html_theme = "pydata_sphinx_theme"
html_title = f"skfactor {release}"
html_baseurl = DOCS_URL
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
    # The API reference in the navigation bar itself (the theme's default, 5
    # links, would hide it under "More"); the command line and the changelog
    # go under "More", and the search is an icon, so the bar is one line.
    "header_links_before_dropdown": 6,
    "navbar_persistent": ["search-button"],
}
html_static_path = []

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 0,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    # Matplotlib's defaults, then figure.autolayout: no label is clipped.
    "reset_modules": ("matplotlib", "skfactor_sphinx.reset_matplotlib"),
    # "Examples using ..." on each API page (the autosummary templates include
    # generated/<name>.examples).
    "backreferences_dir": "generated",
    "doc_module": ("skfactor",),
    # The execution-times page loads its table scripts from CDNs.
    "write_computation_times": False,
}

# The examples run with warnings shown; a ConvergenceWarning in an example is
# part of the story (GD not converging), not a build problem.
warnings.filterwarnings("ignore", category=UserWarning, message=".*non-GUI backend.*")


def _skip_metadata_requests(app, what, name, obj, skip, options):
    """Leave out scikit-learn's generated ``set_*_request`` methods: they
    document metadata routing, which lives in scikit-learn's own docs."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_requests)
    # A bare name in a "See Also" section (FactorizationNAG) is looked up in
    # skfactor's public modules.
    app.connect("missing-reference", resolve_bare_names)
