import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _seed_global_rng():
    """Checks that do not set random_state still see a reproducible global RNG."""
    np.random.seed(0)  # noqa: NPY002 (sklearn checks use the legacy global RNG)
