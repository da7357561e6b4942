import os

import numpy as np
import pytest


def pytest_configure(config):
    """``pytest -n 2`` on two cores: a worker with a two-thread BLAS pool makes
    four threads fight for two cores (the suite ran 101 s against 76 s with
    one thread per worker). Tests that compare thread counts set their own."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        from threadpoolctl import threadpool_limits

        config._blas_limit = threadpool_limits(limits=1, user_api="blas")


@pytest.fixture(autouse=True)
def _seed_global_rng():
    """Checks that do not set random_state still see a reproducible global RNG."""
    np.random.seed(0)  # noqa: NPY002 (sklearn checks use the legacy global RNG)


@pytest.fixture
def problem():
    """A small exactly low-rank factorization and a start off it (the solver's
    tests): ``(objective, [X0, Y0])``."""
    from skfactor._objectives import FactorizationObjective

    rng = np.random.RandomState(0)
    A = rng.standard_normal((20, 3)) @ rng.standard_normal((3, 15))
    X0 = rng.standard_normal((20, 3))
    Y0 = 0.1 * rng.standard_normal((15, 3))
    return FactorizationObjective(A), [X0, Y0]
