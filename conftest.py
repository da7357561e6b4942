"""Root of the test session: the array API tests need scipy's array API mode,
which scipy reads once, when first imported."""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")
