"""Links from an estimator's HTML representation to its API page.

scikit-learn draws a "?" in an estimator's notebook representation that links
to the estimator's documentation; :class:`DocLinkMixin` points it at
skfactor's site instead of scikit-learn's.
"""

# The documentation site (the project declares no URL elsewhere; docs/conf.py
# uses this constant as html_baseurl). The API pages are
# generated/<public module>.<class>.html, e.g.
# generated/skfactor.FactorizationNAG.html.
DOCS_URL = "https://skfactor.readthedocs.io/en/stable/"


class DocLinkMixin:
    """Point scikit-learn's documentation link at skfactor's API pages.

    Put it before :class:`~sklearn.base.BaseEstimator` in the bases (a mixin
    that comes earlier does): these class attributes then take precedence over
    BaseEstimator's. The page is named by the public module, the part of the
    class's module before its first private submodule (``skfactor`` for
    ``skfactor._factorization.FactorizationNAG``). A subclass defined outside
    skfactor gets no link, as in scikit-learn.
    """

    _doc_link_module = "skfactor"
    _doc_link_template = DOCS_URL + "generated/{estimator_module}.{estimator_name}.html"
