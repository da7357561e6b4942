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

import skfactor

project = "skfactor"
author = "the skfactor developers"
copyright = "2026, the skfactor developers"
release = skfactor.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
root_doc = "index"

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Cross-references that numpydoc cannot resolve are reported, not guessed.
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = f"skfactor {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
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
