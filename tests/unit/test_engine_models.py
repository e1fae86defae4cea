"""The models of AWS's engines are independent judges: no import of the code they judge.

``chaosaws_serverless/lab/ssm/`` (SSM Automation, with its python3.11 ``script_worker.py``),
``lab/fis/`` (FIS experiments), ``lab/fis_extension.py`` (the AWS FIS Lambda extension) and
``lab/alarms.py`` (CloudWatch alarm evaluation) are transcribed from AWS's guides. They judge
the SSM document (``ssm/document.py``, ``automation_step``), the Lambda fault engine
(``awslambda/``) and the FIS templates (``fis/``): importing any of those, even indirectly,
would let the artifact grade itself. The rule is checked on the source (every import
statement of every model module) and by importing each model in a fresh interpreter where
those packages cannot be imported. Each model module stays under 400 lines (one job each).
Then the model's pure rules on documents.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import chaosaws_serverless
from chaosaws_serverless.lab import ssm as model

LAB = Path(chaosaws_serverless.__file__).parent / "lab"
MODELS = ("ssm", "fis", "fis_extension", "alarms")
JUDGED = ("chaosaws_serverless.ssm", "chaosaws_serverless.awslambda", "chaosaws_serverless.fis")
WORKER = LAB / "ssm" / "script_worker.py"


def modules() -> list[Path]:
    """Every source file of the models (a package's modules, or the module)."""
    found = []
    for name in MODELS:
        package = LAB / name
        found.extend(sorted(package.glob("*.py")) if package.is_dir() else [LAB / f"{name}.py"])
    return found


def package_imports(path: Path) -> list[str]:
    package = ".".join(path.relative_to(LAB.parent.parent).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            found.append(f"{base}.{node.module or ''}".rstrip("."))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("chaosaws_"):
            found.append(str(node.module))
        elif isinstance(node, ast.Import):
            found.extend(a.name for a in node.names if a.name.startswith("chaosaws_"))
    return found


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(LAB)))
def test_a_model_imports_only_other_models(path: Path) -> None:
    allowed = tuple(f"chaosaws_serverless.lab.{m}" for m in MODELS)
    outside = [
        name
        for name in package_imports(path)
        if not any(name == a or name.startswith(f"{a}.") for a in allowed)
    ]
    assert outside == []


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(LAB)))
def test_each_model_module_has_one_job_under_400_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 400


def test_the_models_import_without_the_code_they_judge() -> None:
    blocker = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.startswith({JUDGED!r}):\n"
        "            raise ImportError('judged code imported: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        + "".join(
            f"import {'.'.join(p.relative_to(LAB.parent.parent).with_suffix('').parts)}\n"
            for p in modules()
            if p != WORKER
        )
    )
    run = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]


def test_the_script_worker_needs_no_package() -> None:
    tree = ast.parse(WORKER.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            roots.add((node.module or "").split(".")[0])
    assert roots <= set(sys.stdlib_module_names) | {"boto3", "botocore"}


# --- the SSM model's rules on a document, before anything runs --------------------------

GOOD = """
schemaVersion: '0.3'
parameters:
  Mode: {type: String, allowedValues: [A, B], default: A}
  Name: {type: String, allowedPattern: '^[a-z]+$'}
  Items: {type: StringList, default: []}
mainSteps:
- name: Pick
  action: aws:branch
  inputs:
    Choices:
    - {Variable: '{{ Mode }}', StringEquals: B, NextStep: Wait}
    Default: Wait
- name: Wait
  action: aws:sleep
  inputs: {Duration: PT1S}
"""


def test_a_valid_document_loads() -> None:
    document = model.load_document("good", "1", GOOD)
    assert [s["name"] for s in document.steps] == ["Pick", "Wait"]


@pytest.mark.parametrize(
    "change, problem",
    [
        (("schemaVersion: '0.3'", "schemaVersion: '2.2'"), "schemaVersion '0.3'"),
        (("NextStep: Wait}", "NextStep: Nowhere}"), "choice NextStep 'Nowhere'"),
        (("action: aws:sleep", "action: aws:runInstances"), "not modelled"),
        (("Duration: PT1S}", "Duration: '{{ Missing }}'}"), "Missing }} refers to nothing"),
        (("- name: Wait\n", "- name: Pick\n"), "not unique"),
        (("- name: Wait\n", "- name: Wait-1\n"), "[a-zA-Z0-9_]+"),
        (
            ("  action: aws:branch\n", "  action: aws:branch\n  onCancel: step:Wait\n"),
            "cannot move to a aws:sleep step",
        ),
        (
            (
                "  action: aws:branch\n",
                "  action: aws:branch\n  onFailure: step:Wait\n  isEnd: true\n",
            ),
            "ambiguous",
        ),
    ],
)
def test_documents_ssm_would_not_run_are_refused(change: tuple[str, str], problem: str) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(model.AutomationError) as raised:
        model.load_document("bad", "1", text)
    assert problem in raised.value.message
    assert raised.value.code == "InvalidDocumentContent"


def test_a_reference_inside_a_script_must_resolve_too() -> None:
    """The engine once wrote ``\\d{{12}}`` (an f-string escape): SSM would read a reference."""
    text = GOOD.replace(
        "  inputs: {Duration: PT1S}\n",
        "  inputs: {Duration: PT1S}\n"
        "- name: Run\n  action: aws:executeScript\n  inputs:\n    Runtime: python3.11\n"
        "    Handler: h\n    Script: |\n      import re\n"
        "      ACCOUNT = re.compile(r'\\d{{12}}')\n",
    )
    with pytest.raises(model.AutomationError, match=r"\{\{ 12 \}\} refers to nothing"):
        model.load_document("script", "1", text)


def test_parameters_are_checked_as_the_execution_starts() -> None:
    document = model.load_document("good", "1", GOOD)
    assert model.resolve_parameters(document, {"Name": ["abc"]}) == {
        "Mode": "A",
        "Name": "abc",
        "Items": [],
    }
    for given, problem in [
        ({}, "Name is required"),
        ({"Name": ["ABC"]}, "does not match"),
        ({"Name": ["abc"], "Mode": ["C"]}, "is not one of"),
        ({"Name": ["abc"], "Other": ["x"]}, "Other is not a parameter"),
        ({"Name": ["a", "b"]}, "one value, got 2"),
    ]:
        with pytest.raises(model.AutomationError) as raised:
            model.resolve_parameters(document, given)
        assert raised.value.code == "InvalidAutomationExecutionParametersException"
        assert problem in raised.value.message


def test_selectors_durations_and_choices() -> None:
    data = {"A": {"B": [{"C": "x"}]}}
    assert model.select(data, "$.A.B[0].C") == (True, "x")
    assert model.select(data, "$.A.Missing") == (False, None)
    with pytest.raises(ValueError, match=r"only \.name and"):
        model.select(data, "$..C")
    assert model.parse_duration("PT1H2M3S") == 3723
    assert model.parse_duration("PT0S") == 0
    for bad in ("PT", "10M", "-PT1M"):
        with pytest.raises(ValueError):
            model.parse_duration(bad)
    choice = {"And": [{"Variable": "ENABLED", "StringEquals": "ENABLED"}]}
    assert model.choice_true({**choice})
    assert not model.choice_true({"Not": {"Variable": "", "StringEquals": ""}})
    assert model.choice_true({"Or": [{"Variable": "3", "NumericGreater": 2}]})
