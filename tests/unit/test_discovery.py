"""`chaos discover` lists exactly the package's public activities, typed and documented."""

import importlib
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

from chaosaws_serverless import activity_modules, load_exported_activities


def public_functions() -> set[tuple[str, str, str]]:
    found = set()
    for name in activity_modules():
        module = importlib.import_module(name)
        kind = "action" if name.endswith(".actions") else "probe"
        for func_name in module.__all__:
            assert inspect.isfunction(getattr(module, func_name)), f"{name}.{func_name}"
            found.add((kind, name, func_name))
    return found


def test_chaos_discover_lists_every_public_activity(tmp_path: Path) -> None:
    out = tmp_path / "discovery.json"
    subprocess.run(
        [
            str(Path(sys.executable).with_name("chaos")),
            "--log-file",
            str(tmp_path / "chaostoolkit.log"),
            "discover",
            "chaostoolkit-aws-serverless",
            "--no-install",
            "--no-system-info",
            "--discovery-path",
            str(out),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    activities = json.loads(out.read_text())["activities"]
    listed = {(a["type"], a["mod"], a["name"]) for a in activities}
    assert listed == public_functions()
    for activity in activities:
        assert activity["doc"], f"{activity['mod']}.{activity['name']} has no docstring"


@pytest.mark.parametrize("activity", load_exported_activities(), ids=lambda a: a["name"])
def test_activity_signature_follows_the_conventions(activity: dict) -> None:
    func = getattr(importlib.import_module(activity["mod"]), activity["name"])
    first_line = inspect.getdoc(func).splitlines()[0]
    assert first_line.endswith("."), f"first docstring line should be a sentence: {first_line!r}"
    params = inspect.signature(func).parameters
    for injected in ("configuration", "secrets"):
        if injected in params:
            assert params[injected].kind is inspect.Parameter.KEYWORD_ONLY, injected
    global_service = activity["mod"].startswith("chaosaws_serverless.route53.")  # Route 53
    if (activity["type"] == "action" or "function_name" in params) and not global_service:
        assert "region" in params, "every AWS activity takes an explicit region"


def test_activity_modules_avoid_the_future_import() -> None:
    # With it, chaoslib reports every argument type as "object".
    for name in activity_modules():
        source = inspect.getsource(importlib.import_module(name))
        assert "from __future__ import annotations" not in source, name
