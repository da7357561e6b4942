"""The Python code blocks of the documentation pages run as written."""

import re
import warnings
from pathlib import Path

import pytest
from sklearn.exceptions import ConvergenceWarning

from skfactor import (
    FactorizationNAG,
    LinearNetRegressor,
    LowRankImputer,
    MatrixCompletionRegressor,
    MatrixSensingPrecGD,
)

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"\.\. code-block:: python\n\n((?:(?: {4}.*)?\n)+)")


def _pages():
    """Each page's Python blocks, in order (later blocks reuse earlier names)."""
    for page in sorted(DOCS.glob("*.rst")):
        text = page.read_text(encoding="utf-8")
        blocks = [
            "\n".join(line[4:] for line in match.group(1).splitlines())
            for match in BLOCK.finditer(text)
        ]
        if blocks:
            yield pytest.param(page.name, blocks, id=page.stem)


PAGES = list(_pages())


def test_the_docs_have_python_examples():
    assert sum(len(p.values[1]) for p in PAGES) >= 5


@pytest.mark.parametrize("page, blocks", PAGES)
def test_docs_code_blocks_run(page, blocks):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for i, code in enumerate(blocks):
            exec(compile(code, f"docs/{page} block {i}", "exec"), namespace)


@pytest.mark.parametrize(
    "Est",
    [
        FactorizationNAG,
        MatrixSensingPrecGD,
        LinearNetRegressor,
        LowRankImputer,
        MatrixCompletionRegressor,
    ],
)
def test_html_repr_links_to_the_api_page(Est):
    from skfactor._doc_link import DOCS_URL

    url = f"{DOCS_URL}generated/skfactor.{Est.__name__}.html"
    assert Est()._get_doc_link() == url
    assert f'href="{url}"' in Est()._repr_html_()


def test_subclass_outside_skfactor_gets_no_link():
    class Mine(FactorizationNAG):
        pass

    assert Mine()._get_doc_link() == ""
