"""Run every benchmark table: ``python -m benchmarks [--quick] [names ...]``.

The quick mode (small sizes) finishes in well under two minutes on 2 cores
and is what the test suite's smoke test runs; the full mode printed the
tables in ``benchmarks/README.md``.
"""

import argparse
import importlib
import platform
import time

import numpy as np
import scipy
import sklearn

import skfactor

#: Modules in the order the README shows their tables.
MODULES = (
    "roofline",
    "complexity",
    "peers",
    "scaling",
    "sensing",
    "linear_net",
    "imputation",
    "engine",
    "truncated_svd",
    "eigen",
    "threads",
    "callbacks",
    "completion",
    "gpu",
    "distributed",
    "papers",
)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument(
        "names",
        nargs="*",
        metavar="name",
        help=f"modules to run (default: all of {', '.join(MODULES)})",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(MODULES))
    if unknown:
        parser.error(
            f"unknown benchmark {unknown[0]!r}; choose from {', '.join(MODULES)}"
        )
    print(
        f"skfactor {skfactor.__version__}, numpy {np.__version__}, scipy "
        f"{scipy.__version__}, scikit-learn {sklearn.__version__}, Python "
        f"{platform.python_version()}, {platform.machine()}"
    )
    for name in args.names or MODULES:
        start = time.perf_counter()
        print(f"\n## {name}\n")
        importlib.import_module(f"benchmarks.{name}").run(quick=args.quick)
        print(f"({name}: {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
