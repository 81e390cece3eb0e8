"""Structure figures of the tree: the longest functions and the import arrows between top-level packages.

Run from the repository root: `python scripts/structure.py` (standard library only).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

# Where each top-level package's code lives; `services/` holds the Lambda package.
PACKAGE_ROOTS = {"services": "services"}


def python_files(root: Path) -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "*.py"], cwd=root, capture_output=True, text=True, check=False)
    files = listed.stdout.split() if listed.returncode == 0 and listed.stdout else None
    if files is None:
        files = [str(p.relative_to(root)) for p in root.rglob("*.py")]
    skip = ("cdk.out", "build/", ".venv", "node_modules")
    return [root / f for f in files if not f.startswith(skip)]


def top_package(relative: Path) -> str:
    parts = relative.parts
    if parts[0] == "services" and len(parts) > 1:
        return parts[1]
    if parts[0] == "infrastructure" and len(parts) > 2:
        return f"infrastructure/{parts[1]}"
    return parts[0] if len(parts) > 1 else "(root)"


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    lengths: list[tuple[int, str]] = []
    arrows: dict[str, set[str]] = defaultdict(set)
    packages = set()
    files = python_files(root)
    for path in files:
        packages.add(top_package(path.relative_to(root)))
    module_to_package = {p.split("/")[-1]: p for p in packages}
    for path in files:
        relative = path.relative_to(root)
        source = path.read_text()
        tree = ast.parse(source)
        me = top_package(relative)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                lengths.append((length, f"{relative}:{node.lineno} {node.name}"))
            elif isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for name in names:
                    head = name.split(".")[0]
                    other = module_to_package.get(head)
                    if other and other != me and not str(relative).startswith("tests/"):
                        arrows[me].add(other)
    print("Longest functions (lines):")
    for length, where in sorted(lengths, reverse=True)[:10]:
        print(f"  {length:4d}  {where}")
    print("Import arrows between top-level packages (tests left out):")
    for source in sorted(arrows):
        print(f"  {source} -> {', '.join(sorted(arrows[source]))}")


if __name__ == "__main__":
    main()
