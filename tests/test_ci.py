"""`.ci/run` runs exactly the test command that README.md gives."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, re.S)
    command = next(b for b in blocks if "pytest" in b)
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "sphinx -W" in command  # the docs build with warnings as errors
