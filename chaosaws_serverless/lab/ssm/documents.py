"""A runbook as SSM reads it: checks before it runs, parameters, references, selectors, choices.

[A] step names and properties, [D] parameters, [O] outputs and selectors, [B] branch
choices, [Z] durations (sources: the package docstring).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from chaosaws_serverless.lab.ssm.rules import (
    DOCUMENT_MAX_BYTES,
    DURATION,
    MODELLED_ACTIONS,
    NO_CANCEL_TARGET,
    PYTHON_RUNTIMES,
    REFERENCE,
    STEP_NAME,
    SYSTEM_VARIABLES,
    AutomationError,
)


def parse_duration(text: str) -> float:
    """ISO 8601 duration -> seconds [Z] ("You can't specify a negative duration")."""
    match = DURATION.match(str(text).strip())
    if not match or text.strip() in ("P", "PT"):
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as PT10M")
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + seconds


@dataclass
class Document:
    name: str
    version: str
    content: dict[str, Any]
    steps: list[dict[str, Any]]
    parameters: dict[str, dict[str, Any]]

    def index(self, name: str) -> int:
        for position, step in enumerate(self.steps):
            if step["name"] == name:
                return position
        raise KeyError(name)


def jump(value: Any) -> str | None:
    text = str(value or "")
    return text[len("step:") :] if text.startswith("step:") else None


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield from REFERENCE.findall(node)
    elif isinstance(node, Mapping):
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def load_document(name: str, version: str, text: str) -> Document:
    """Parse and check a runbook as SSM does before running it (problems: InvalidDocument)."""
    if len(text.encode("utf-8")) > DOCUMENT_MAX_BYTES:
        raise AutomationError(
            "InvalidDocumentContent", f"{name}: more than {DOCUMENT_MAX_BYTES} bytes"
        )
    try:
        content = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as error:
        raise AutomationError("InvalidDocumentContent", f"{name}: {error}") from error
    problems: list[str] = []
    if not isinstance(content, dict) or str(content.get("schemaVersion")) != "0.3":
        raise AutomationError(
            "InvalidDocumentContent", f"{name}: an Automation runbook has schemaVersion '0.3'"
        )
    steps = content.get("mainSteps")
    if not isinstance(steps, list) or not steps:
        raise AutomationError("InvalidDocumentContent", f"{name}: no mainSteps")
    parameters = dict(content.get("parameters") or {})
    names = [str(step.get("name")) for step in steps]
    by_name = {str(step.get("name")): step for step in steps}
    for step in steps:
        label = f"step {step.get('name')!r}"
        if not STEP_NAME.match(str(step.get("name", ""))):  # [A] name
            problems.append(f"{label}: name must match [a-zA-Z0-9_]+")
        action = step.get("action")
        if action not in MODELLED_ACTIONS:
            problems.append(f"{label}: action {action!r} is not modelled")
        on_failure = str(step.get("onFailure", "Abort"))
        if on_failure not in ("Abort", "Continue") and jump(on_failure) not in by_name:
            problems.append(f"{label}: onFailure {on_failure!r} (Abort | Continue | step:name)")
        on_cancel = str(step.get("onCancel", "Abort"))
        target = jump(on_cancel)
        if on_cancel != "Abort" and target not in by_name:
            problems.append(f"{label}: onCancel {on_cancel!r} (Abort | step:name)")
        elif target and by_name[target].get("action") in NO_CANCEL_TARGET:
            problems.append(f"{label}: onCancel cannot move to a {by_name[target]['action']} step")
        if step.get("nextStep") is not None and str(step["nextStep"]) not in by_name:
            problems.append(f"{label}: nextStep {step['nextStep']!r} is not a step")
        # SILENT: isEnd "stops ... if the step failed or succeeded" [A] vs a jump.
        if step.get("isEnd") is True and (jump(on_failure) or target):
            problems.append(
                f"{label}: isEnd with onFailure/onCancel step:X is ambiguous in the guide "
                "(isEnd stops the automation whether the step failed or succeeded)"
            )
        if action == "aws:branch":
            for choice in (step.get("inputs") or {}).get("Choices") or []:
                if str(choice.get("NextStep")) not in by_name:
                    problems.append(f"{label}: choice NextStep {choice.get('NextStep')!r}")
            default = (step.get("inputs") or {}).get("Default")
            if default is not None and str(default) not in by_name:
                problems.append(f"{label}: Default {default!r} is not a step")
        if action == "aws:executeScript":
            runtime = (step.get("inputs") or {}).get("Runtime")
            if runtime not in PYTHON_RUNTIMES:
                problems.append(f"{label}: Runtime {runtime!r} (the model runs python3.11)")
    if len(set(names)) != len(names):  # [A] name: "unique across all step names"
        problems.append("step names are not unique")
    declared_outputs = {f"{s['name']}.{o['Name']}" for s in steps for o in s.get("outputs") or []}
    for step in steps:
        if step.get("action") == "aws:executeAutomation":  # [X] outputs
            declared_outputs |= {f"{step['name']}.{o}" for o in ("ExecutionId", "Status", "Output")}
        if step.get("action") == "aws:executeScript":  # [S] output Payload
            declared_outputs.add(f"{step['name']}.OutputPayload")
    known = set(parameters) | set(SYSTEM_VARIABLES) | declared_outputs
    for reference in _references({"steps": steps, "assumeRole": content.get("assumeRole")}):
        if reference not in known:
            problems.append(f"{{{{ {reference} }}}} refers to nothing the document declares")
    if problems:
        raise AutomationError("InvalidDocumentContent", f"{name}: " + "; ".join(problems))
    return Document(name, version, content, steps, parameters)


def resolve_parameters(document: Document, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """[D] the execution's parameter values: given, else default; checked, or it fails to start."""
    given = dict(given or {})
    values: dict[str, Any] = {}
    problems: list[str] = []
    for unknown in sorted(set(given) - set(document.parameters)):
        problems.append(f"{unknown} is not a parameter of the document")
    for name, spec in document.parameters.items():
        kind = str((spec or {}).get("type", "String"))
        if name in given:
            raw = given[name]
            items = [str(v) for v in raw] if isinstance(raw, list | tuple) else [str(raw)]
            if kind == "StringList":
                value: Any = items
            elif len(items) != 1:
                problems.append(f"{name} is a {kind}: one value, got {len(items)}")
                continue
            else:
                value = items[0]
        elif "default" in (spec or {}):
            value = spec["default"]
        else:
            problems.append(f"{name} is required")
            continue
        texts = value if isinstance(value, list) else [value]
        allowed = (spec or {}).get("allowedValues")
        if allowed is not None and any(str(t) not in [str(a) for a in allowed] for t in texts):
            problems.append(f"{name}={value!r} is not one of {allowed}")  # [D] allowedValues
        pattern = (spec or {}).get("allowedPattern")
        # [D] allowedPattern: "doesn't match the allowed pattern, the execution fails to start".
        # SILENT: Java's matches() or find(); the model requires the whole value to match.
        if pattern is not None and any(re.fullmatch(pattern, str(t)) is None for t in texts):
            problems.append(f"{name}={value!r} does not match {pattern}")
        values[name] = value
    if problems:
        raise AutomationError(
            "InvalidAutomationExecutionParametersException",
            f"{document.name}: " + "; ".join(problems),
        )
    return values


def select(data: Any, selector: str) -> tuple[bool, Any]:
    """[O] a JSONPath Selector on a step's response: ``$``, ``.name`` and ``[index]`` only."""
    if not selector.startswith("$"):
        raise ValueError(f"selector {selector!r} does not start with $")
    rest = selector[1:]
    node = data
    for match in re.finditer(r"\.([A-Za-z0-9_]+)|\[(\d+)\]|(.)", rest):
        key, index, other = match.groups()
        if other is not None:
            raise ValueError(f"selector {selector!r}: only .name and [n] are modelled")
        if key is not None:
            if not isinstance(node, Mapping) or key not in node:
                return False, None
            node = node[key]
        else:
            position = int(index)
            if not isinstance(node, list) or position >= len(node):
                return False, None
            node = node[position]
    return True, node


def typed_output(value: Any, kind: str, name: str) -> Any:
    """An output's value as its declared Type [O]; a mismatch fails the step (SILENT)."""
    checks: dict[str, Callable[[Any], bool]] = {
        "String": lambda v: isinstance(v, str),
        "Integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "Boolean": lambda v: isinstance(v, bool),
        "StringList": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
        "StringMap": lambda v: isinstance(v, dict),
        "MapList": lambda v: isinstance(v, list) and all(isinstance(i, dict) for i in v),
    }
    if kind not in checks or not checks[kind](value):
        raise StepFailure(f"output {name} is not a {kind}: {value!r}")
    return value


def json_safe(node: Any) -> Any:
    if isinstance(node, dt.datetime):
        return node.isoformat()
    if isinstance(node, Mapping):
        return {str(k): json_safe(v) for k, v in node.items() if k != "ResponseMetadata"}
    if isinstance(node, list | tuple):
        return [json_safe(v) for v in node]
    if isinstance(node, bytes):
        return node.decode("utf-8", "replace")
    return node


class StepFailure(Exception):
    """The step fails with this message (its onFailure applies)."""


def as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [text_of(v) for v in value]
    return [text_of(value)]


def text_of(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def choice_true(choice: Mapping[str, Any]) -> bool:
    """[B] one choice: Variable with an operation, or And / Or / Not of choices."""
    if "And" in choice:
        return all(choice_true(c) for c in choice["And"])
    if "Or" in choice:
        return any(choice_true(c) for c in choice["Or"])
    if "Not" in choice:
        return not choice_true(choice["Not"])
    value = choice.get("Variable")
    text = text_of(value)
    operations: dict[str, Callable[[Any], bool]] = {
        "StringEquals": lambda v: text == str(v),
        "EqualsIgnoreCase": lambda v: text.lower() == str(v).lower(),
        "StartsWith": lambda v: text.startswith(str(v)),
        "EndsWith": lambda v: text.endswith(str(v)),
        "Contains": lambda v: str(v) in text,
        "NumericEquals": lambda v: float(text) == float(v),
        "NumericGreater": lambda v: float(text) > float(v),
        "NumericLesser": lambda v: float(text) < float(v),
        "NumericGreaterOrEquals": lambda v: float(text) >= float(v),
        "NumericLesserOrEquals": lambda v: float(text) <= float(v),
        "BooleanEquals": lambda v: text.lower() == str(v).lower(),
    }
    for operation, test in operations.items():
        if operation in choice:
            return bool(test(choice[operation]))
    raise StepFailure(f"choice {dict(choice)} has no operation the guide lists")
