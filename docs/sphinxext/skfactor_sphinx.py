"""Build helpers of the skfactor documentation (imported by ``docs/conf.py``).

They live in a module, not in ``conf.py``, so that sphinx-gallery can name them
by their import path (a callable in ``sphinx_gallery_conf`` would make the
configuration unpicklable).
"""

import matplotlib

# The public namespaces, searched in order for a bare name such as the
# ``FactorizationNAG`` of a "See Also" section written inside
# ``skfactor.plotting``.
PUBLIC_MODULES = (
    "skfactor",
    "skfactor.callbacks",
    "skfactor.plotting",
    "skfactor.datasets",
    "skfactor.theory",
    "skfactor.exceptions",
)


def reset_matplotlib(gallery_conf, fname):
    """sphinx-gallery resetter run before each example, after matplotlib's own:
    figures are laid out at draw time, so axis labels are never clipped."""
    matplotlib.rcParams["figure.autolayout"] = True


def resolve_bare_names(app, env, node, contnode):
    """``missing-reference`` handler: resolve a bare Python name (``Recorder``)
    against skfactor's public namespaces."""
    if node.get("refdomain") != "py" or node.get("refexplicit"):
        return None
    target = node.get("reftarget", "")
    if not target or "." in target:
        return None
    domain = env.get_domain("py")
    for module in PUBLIC_MODULES:
        full = f"{module}.{target}"
        if full in domain.objects:
            return domain.resolve_xref(
                env, node["refdoc"], app.builder, node["reftype"], full, node, contnode
            )
    return None
