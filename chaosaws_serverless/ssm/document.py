"""The shipped SSM Automation document and the script embedded in it.

``ssm/chaos-layer-automation.yaml`` is what SSM runs; ``ssm/chaos_layer_automation.py``
is the same script as a real file, linted and tested. The YAML carries a copy of
the script in each ``aws:executeScript`` step (the step and its rollback), in
its compact form: the same code without docstrings and comments
(:func:`compact_script`, ``ast`` round trip), because an SSM document holds at
most 64 KB. ``python -m chaosaws_serverless.ssm.document`` rewrites those
copies from the file, and a test fails whenever the two drift (``--check`` does
the same check).

Both files are found through :mod:`chaosaws_serverless.shipped`
(``importlib.resources``): the top-level ``ssm/`` of the repository, shipped
inside the package by the sdist and the wheel.
"""

import ast
import re
import sys
from pathlib import Path

from chaosaws_serverless.shipped import SSM, shipped_path

__all__ = [
    "DOCUMENT_FILE",
    "MAX_DOCUMENT_BYTES",
    "SCRIPT_FILE",
    "compact_script",
    "document_path",
    "embed_script",
    "embedded_scripts",
    "main",
    "script_path",
]

DOCUMENT_FILE = "chaos-layer-automation.yaml"
SCRIPT_FILE = "chaos_layer_automation.py"
MAX_DOCUMENT_BYTES = 64 * 1024  # SSM's limit on a document's content
_SCRIPT_KEY = re.compile(r"^(?P<indent> *)Script: \|$")


def document_path() -> Path:
    """Return the path of the shipped Automation document (YAML)."""
    return shipped_path(SSM, DOCUMENT_FILE)


def script_path() -> Path:
    """Return the path of the script the document embeds."""
    return shipped_path(SSM, SCRIPT_FILE)


def compact_script(script: str) -> str:
    """Return ``script`` as the document embeds it: same code, no docstrings or comments."""
    tree = ast.parse(script)
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return ast.unparse(tree) + "\n"


def embed_script(document: str, script: str) -> str:
    """Return ``document`` with the body of every ``Script: |`` block replaced by ``script``."""
    lines = document.splitlines()
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        out.append(line)
        index += 1
        match = _SCRIPT_KEY.match(line)
        if not match:
            continue
        indent = len(match.group("indent"))
        # The block runs while lines are blank or indented deeper than the key.
        while index < len(lines) and (
            not lines[index].strip() or len(lines[index]) - len(lines[index].lstrip()) > indent
        ):
            index += 1
        pad = " " * (indent + 2)
        out.extend(pad + s if s.strip() else "" for s in script.rstrip("\n").splitlines())
    return "\n".join(out) + "\n"


def embedded_scripts(document: str) -> list[str]:
    """Return the scripts of the document's ``aws:executeScript`` steps, as SSM reads them."""
    import yaml

    content = yaml.safe_load(document)
    return [
        step["inputs"]["Script"]
        for step in content.get("mainSteps", [])
        if step.get("action") == "aws:executeScript"
    ]


def main(argv: list[str] | None = None) -> int:
    """Rewrite the document's embedded scripts from the file (``--check``: only compare)."""
    args = sys.argv[1:] if argv is None else argv
    path = document_path()
    current = path.read_text(encoding="utf-8")
    runtimes = set(re.findall(r"^\s*Runtime:\s*python(\d+)\.(\d+)\s*$", current, re.MULTILINE))
    running = tuple(map(str, sys.version_info[:2]))
    if runtimes != {running}:
        # ast.unparse writes each version's own syntax: 3.12+ nests quotes in f-strings,
        # which the 3.11 runtime of the steps cannot parse. Compact with the runtime's Python.
        wanted_runtime = ", ".join(".".join(r) for r in sorted(runtimes)) or "none found"
        print(
            f"run this with the Python of the document's steps ({wanted_runtime}), not "
            f"{'.'.join(running)}: ast.unparse writes syntax of the running version"
        )
        return 1
    wanted = embed_script(current, compact_script(script_path().read_text(encoding="utf-8")))
    if current == wanted:
        print(f"{path} embeds {SCRIPT_FILE} as it is")
        return 0
    if "--check" in args:
        print(f"{path} does not embed {SCRIPT_FILE} as it is; run python -m {__name__}")
        return 1
    path.write_text(wanted, encoding="utf-8")
    print(f"{path} rewritten with {SCRIPT_FILE}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
