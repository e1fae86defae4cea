"""The package's import layers: a module imports only from its own layer's package or below.

The contract (`make lint` runs this test), top to bottom; packages on one line
are siblings that do not import each other:

    cli                       every command (chaosaws_serverless.cli, each package's cli.py)
                              and the package root (discovery)
    lab                       the local lab: runs everything below
    doctor                    checks an experiment: reads its IAM policy, pre-flights faults
    iam | catalog             policies from activities; the experiment catalog
    controls                  the run's controls (iam lists their permissions)
    fis | timeline            FIS templates run the SSM document; a run's picture from CloudWatch
    ssm                       the document runs the Lambda fault engine
    awslambda | route53 | loadgen
    switch                    the dead man's switch every injecting action arms
    cloudwatch
    aws | options             the one place that builds clients; the commands' option checks
    regions                   the regions botocore knows (its endpoint data)
    errors | patterns | metric_names | shipped | extras | experiment | inputs | runs
                              leaves: errors, ARN patterns, metric names, the shipped files,
                              the one-line hint for a missing extra, an experiment's activities,
                              the one reader of the files users give, who runs a fault

Imports inside functions count too. A package's ``cli.py`` belongs to the cli
layer: a command may use any package's commands and helpers.

And no package reaches into another's privates: a module imports from another
package (a top-level directory or module of ``chaosaws_serverless``) only
public modules and public names (no ``_``-prefixed part), nor reads a private
attribute of a module it imported from there. What two packages share gets a
public name in the package that owns it.
"""

import ast
from pathlib import Path

import chaosaws_serverless

PACKAGE = "chaosaws_serverless"
LAYERS: list[set[str]] = [
    {"cli"},
    {"lab"},
    {"doctor"},
    {"iam", "catalog"},
    {"controls"},
    {"fis", "timeline"},
    {"ssm"},
    {"awslambda", "route53", "loadgen"},
    {"switch"},
    {"cloudwatch"},
    {"aws", "options"},
    {"regions"},
    {"errors", "patterns", "metric_names", "shipped", "extras", "experiment", "inputs", "runs"},
]
ROOT = Path(chaosaws_serverless.__file__).parent


def layer_of(module: str) -> str:
    """Return the layer of a dotted module name of the package."""
    parts = module.split(".")
    if len(parts) == 1 or parts[-1] == "cli":
        return "cli"
    return parts[1]


def level(layer: str) -> int:
    return next(index for index, names in enumerate(LAYERS) if layer in names)


def module_name(path: Path, root: Path = ROOT) -> str:
    relative = path.relative_to(root.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """Return (line, dotted module) of every import of the package in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == PACKAGE:
            assert node.module is not None
            if node.module == PACKAGE:  # from chaosaws_serverless import aws, __version__
                found.extend(
                    (
                        node.lineno,
                        f"{PACKAGE}.{a.name}" if (root / f"{a.name}.py").exists() else PACKAGE,
                    )
                    for a in node.names
                )
            else:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend(
                (node.lineno, a.name) for a in node.names if a.name.split(".")[0] == PACKAGE
            )
    return found


def violations(root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        where = path.relative_to(root.parent)
        source = module_name(path, root)
        mine = layer_of(source)
        for line, target in imports_of(path, root):
            theirs = layer_of(target)
            if theirs == mine:
                continue
            if level(theirs) < level(mine):
                found.append(f"{where}:{line} {mine} imports {target} ({theirs}, above)")
            elif level(theirs) == level(mine):
                found.append(f"{where}:{line} {mine} imports its sibling {target}")
    return found


def package_of(module: str) -> str:
    """Return the package a dotted module of the package belongs to (its first part below root)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _private(dotted: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in dotted.split("."))


def private_reaches(root: Path = ROOT) -> list[str]:
    """Return every import of another package's private module or name, and every read of one."""
    found = []
    for path in sorted(root.rglob("*.py")):
        where = path.relative_to(root.parent)
        mine = package_of(module_name(path, root))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        foreign: dict[str, str] = {}  # local name -> the other package's module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == PACKAGE:
                assert node.module is not None
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    if package_of(target) == mine:
                        continue
                    if _private(target.split(".", 1)[1]):
                        found.append(f"{where}:{node.lineno} imports the private {target}")
                    foreign[alias.asname or alias.name] = target
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    theirs = alias.name.split(".")[0] == PACKAGE and package_of(alias.name) != mine
                    if theirs and _private(alias.name):
                        found.append(f"{where}:{node.lineno} imports the private {alias.name}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in foreign
                and _private(node.attr)
            ):
                found.append(
                    f"{where}:{node.lineno} reads the private {foreign[node.value.id]}.{node.attr}"
                )
    return found


def test_every_package_is_in_a_layer() -> None:
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in ROOT.glob("*.py") if p.stem not in {"__init__", "cli"}}
    assert packages | modules <= set().union(*LAYERS)


def test_no_import_runs_upward_or_sideways() -> None:
    assert violations() == []


def test_the_contract_catches_upward_and_sideways_imports(tmp_path: Path) -> None:
    root = tmp_path / PACKAGE
    for name, text in {
        "ssm/actions.py": "from chaosaws_serverless.fis.templates import X\n",
        "route53/probes.py": "def f():\n    from chaosaws_serverless.awslambda import engine\n",
        "fis/cli.py": "from chaosaws_serverless.iam.cli import load_experiment\n",
        "awslambda/engine/injection.py": "from chaosaws_serverless import patterns\n",
        "patterns.py": "",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    assert violations(root) == [
        f"{PACKAGE}/route53/probes.py:2 route53 imports its sibling {PACKAGE}.awslambda",
        f"{PACKAGE}/ssm/actions.py:1 ssm imports {PACKAGE}.fis.templates (fis, above)",
    ]


def test_no_package_reaches_into_another_s_privates() -> None:
    assert private_reaches() == []


def test_the_contract_catches_private_reaches(tmp_path: Path) -> None:
    root = tmp_path / PACKAGE
    for name, text in {
        "doctor/checks.py": (
            "from chaosaws_serverless.awslambda import _engine, faults\n"
            "from chaosaws_serverless.iam.policy import _activities\n"
            "from chaosaws_serverless.doctor._own import mine\n"
            "faults._who()\n"
        ),
        "ssm/automation_step.py": (
            "def f():\n    import chaosaws_serverless.awslambda._engine\n"
            "from chaosaws_serverless.awslambda.engine.injection import inject\n"
        ),
        "doctor/_own.py": "from chaosaws_serverless.doctor.checks import _private_here\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    assert private_reaches(root) == [
        f"{PACKAGE}/doctor/checks.py:1 imports the private {PACKAGE}.awslambda._engine",
        f"{PACKAGE}/doctor/checks.py:2 imports the private {PACKAGE}.iam.policy._activities",
        f"{PACKAGE}/doctor/checks.py:4 reads the private {PACKAGE}.awslambda.faults._who",
        f"{PACKAGE}/ssm/automation_step.py:2 imports the private {PACKAGE}.awslambda._engine",
    ]
