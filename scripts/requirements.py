"""Print the pinned requirements of the named dependency groups in pyproject.toml.

`runtime` is the project's own dependencies (what the Lambda layer holds); the others are the
optional-dependency groups. One source of truth for the venv and the layer.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
for group in sys.argv[1:] or ["runtime"]:
    for requirement in project["dependencies"] if group == "runtime" else project["optional-dependencies"][group]:
        print(requirement)
