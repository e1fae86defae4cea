"""The one reader of the files a user hands the commands: experiments, var files, journals, pieces.

Every command reads its files here (``doctor``, ``iam-policy``, ``fis-template``,
``timeline``, ``compose``, ``values-template``, ``rollback --var-file``, the
catalog, the lab's ``--stack`` and ``--experiment``): JSON or YAML parsed by the
file's extension, its shape checked (an object where an object is needed, lists
where lists are), and every problem one :class:`InputError` line naming the
file, the key and the fix. Nothing is read twice, nothing changes AWS.

Var files follow ``chaos run``'s rule, chaoslib's ``merge_vars`` (the same code
in chaostoolkit-lib 1.44 and 1.45): a ``.json``/``.yaml``/``.yml`` file gives
only its ``"configuration"`` and ``"secrets"`` objects, and any other top-level
key is ignored, so a file without the ``"configuration"`` wrapper gives
nothing; any other file is a ``.env`` file whose ``KEY=VALUE`` lines go into
the process environment. Where chaoslib ignores a key silently (outside the
two blocks, or a configuration key the experiment does not declare, which
``load_configuration`` drops), :attr:`VarValues.notes` says so in one line; where
chaoslib fails or drops a whole file (``{}``, ``null``, a list, a file that does
not parse, a ``.env`` line without ``=``), this reader refuses it.
"""

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

__all__ = [
    "COMMAND_KEYS",
    "InputError",
    "VarValues",
    "check_experiment",
    "read_document",
    "read_experiment",
    "read_journal",
    "read_mapping",
    "read_var_files",
    "resolve_configuration",
    "undeclared_keys_note",
]

_SECTIONS = ("method", "rollbacks")
# Keys the package's commands read from a var file though no activity of a run does
# (fis-template's roles and alarms, iam-policy's bucket): not declaring them is fine.
COMMAND_KEYS = frozenset(
    {"fis_role_arn", "fis_stop_alarm_arns", "automation_role_arn", "fis_config_bucket"}
)
_VAR_FILE_KEYS = ("configuration", "secrets")


class InputError(ValueError):
    """A file (or value) a user gave cannot be used: one line, the file, the key and the fix."""


@dataclass
class VarValues:
    """What ``--var-file``/``--var`` give, as ``chaos run`` reads them, and what it ignores."""

    configuration: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def read_document(path: str | Path, what: str) -> Any:
    """Return the parsed JSON (``.json``) or YAML (``.yaml``/``.yml``) of ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise InputError(f"cannot read {what} {path}: {reason}") from None
    return _parse(text, path, what)


def _parse(text: str, path: Path, what: str) -> Any:
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise InputError(
                f"{what} {path} is not valid JSON (line {error.lineno}, column {error.colno}: "
                f"{error.msg}); fix the syntax"
            ) from None
    if path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
            problem = getattr(error, "problem", None) or type(error).__name__
            raise InputError(
                f"{what} {path} is not valid YAML ({where}{problem}); fix the syntax"
            ) from None
    raise InputError(f"{what} {path} must be a .json, .yaml or .yml file")


def read_mapping(path: str | Path, what: str) -> dict[str, Any]:
    """Return the object ``path`` holds; anything else is refused naming what it holds."""
    data = read_document(path, what)
    if not isinstance(data, dict):
        raise InputError(f"{what} {path} must hold an object ({{...}}), not {_kind(data)}")
    return data


def read_experiment(path: str | Path, what: str = "experiment") -> dict[str, Any]:
    """Return the experiment at ``path``, its shape checked (:func:`check_experiment`)."""
    return check_experiment(read_mapping(path, what), f"{what} {path}")


def check_experiment(experiment: Any, where: str) -> dict[str, Any]:
    """Return ``experiment`` when its blocks have the shapes chaoslib reads; else refuse.

    ``configuration`` and ``secrets`` are objects (each secrets scope too), the
    hypothesis an object whose ``probes`` is a list, ``method`` and ``rollbacks``
    lists; each activity is an object (or a string naming one, or a catalog
    reference) whose ``provider`` is an object with object ``arguments``.
    """
    if not isinstance(experiment, dict):
        raise InputError(f"{where} must be an object ({{...}}), not {_kind(experiment)}")
    for key in ("configuration", "secrets", "steady-state-hypothesis", "runtime"):
        _expect(experiment, key, dict, where)
    for key in ("controls", "extensions"):
        for index, item in enumerate(_expect(experiment, key, list, where) or []):
            if not isinstance(item, dict):
                raise InputError(
                    f'{where}: {key}[{index}] must be an object ({{"name": ...}}), not '
                    f"{_kind(item)}; fix that item"
                )
            if key == "controls":
                _expect(item, "provider", dict, where, f"{key}[{index}].")
    for scope, value in (experiment.get("secrets") or {}).items():
        if not isinstance(value, dict):
            raise InputError(
                f"{where}: secrets.{scope} must be an object of secret values, not "
                f'{_kind(value)}; write "secrets": {{"{scope}": {{KEY: VALUE}}}}'
            )
    hypothesis = experiment.get("steady-state-hypothesis") or {}
    _expect(hypothesis, "probes", list, where, "steady-state-hypothesis.")
    sections = {
        "steady-state-hypothesis.probes": hypothesis.get("probes") or [],
        **{key: _expect(experiment, key, list, where) or [] for key in _SECTIONS},
    }
    for section, items in sections.items():
        for index, activity in enumerate(items):
            _check_activity(activity, f"{section}[{index}]", where)
    return experiment


def _check_activity(activity: Any, at: str, where: str) -> None:
    if isinstance(activity, str):  # a reference to an activity declared elsewhere
        return
    if not isinstance(activity, dict):
        raise InputError(
            f'{where}: {at} must be an activity object ({{"type": ..., "provider": ...}}) '
            f"or an activity's name, not {_kind(activity)}"
        )
    if "piece" in activity:  # a catalog reference, checked when it is expanded
        return
    provider = _expect(activity, "provider", dict, where, f"{at}.")
    if provider is not None:
        _expect(provider, "arguments", dict, where, f"{at}.provider.")


def _expect(mapping: Mapping[str, Any], key: str, kind: type, where: str, prefix: str = "") -> Any:
    if key not in mapping:
        return None
    value = mapping[key]
    if isinstance(value, kind):  # a null block is refused: chaoslib fails on it
        return value
    shape = "an object ({...})" if kind is dict else "a list ([...])"
    raise InputError(f"{where}: {prefix}{key} must be {shape}, not {_kind(value)}; fix that key")


def read_journal(path: str | Path) -> dict[str, Any]:
    """Return the journal ``chaos run`` wrote at ``path``, its shape checked."""
    journal = read_mapping(path, "journal")
    where = f"journal {path}"
    if not isinstance(journal.get("experiment"), dict):
        raise InputError(
            f"{where}: 'experiment' must be the experiment object chaos run copies into its "
            f"journal, not {_kind(journal.get('experiment'))}; pass the journal chaos run wrote"
        )
    check_experiment(journal["experiment"], f"{where} (its experiment)")
    for key in ("run", "rollbacks"):
        entries = _expect(journal, key, list, where) or []
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("activity", {}), dict):
                raise InputError(
                    f'{where}: {key}[{index}] must be a run entry ({{"activity": {{...}}, '
                    f'"status": ...}}), not {_kind(entry)}; pass the journal.json chaos run wrote'
                )
    for key in ("start", "end"):
        if journal.get(key) is not None and not isinstance(journal[key], str):
            raise InputError(
                f"{where}: {key!r} must be an ISO timestamp string, not {_kind(journal[key])}"
            )
    return journal


def read_var_files(
    var_files: tuple[str, ...] | list[str] = (), variables: tuple[str, ...] | list[str] = ()
) -> VarValues:
    """Return the values of ``--var-file``s and ``--var``s as ``chaos run`` reads them.

    Later files win over earlier ones, ``--var`` over every file, as in chaoslib.
    """
    from chaoslib import convert_vars

    values = VarValues()
    for var_file in var_files:
        path = Path(var_file)
        if path.suffix not in (".json", ".yaml", ".yml"):
            _read_env_file(path)
            continue
        if not _text(path).strip():
            continue  # chaoslib skips an empty file
        data = read_document(path, "var file")
        if not data or not isinstance(data, dict):
            raise InputError(
                f'var file {path} must be an object with a "configuration" and/or "secrets" '
                f"object, not {_kind(data)} (chaos run would read it as a .env file and fail); "
                'write {"configuration": {KEY: VALUE}}'
            )
        for key in _VAR_FILE_KEYS:
            _expect(data, key, dict, f"var file {path}")
        for scope, value in (data.get("secrets") or {}).items():
            if not isinstance(value, dict):
                raise InputError(
                    f"var file {path}: secrets.{scope} must be an object, not {_kind(value)}; "
                    f'write "secrets": {{"{scope}": {{KEY: VALUE}}}}'
                )
        ignored = sorted(set(data) - set(_VAR_FILE_KEYS))
        if ignored:
            values.notes.append(
                f'var file {path}: chaos run reads only its "configuration" and "secrets" '
                f"blocks and ignores {', '.join(map(repr, ignored))}; move "
                f'{"them" if len(ignored) > 1 else "it"} under "configuration"'
            )
        values.configuration.update(data.get("configuration") or {})
        values.secrets.update(data.get("secrets") or {})
    try:
        values.configuration.update(convert_vars(list(variables)))
    except ValueError as error:
        raise InputError(f"--var {', '.join(variables)}: {error} (KEY[:TYPE]=VALUE)") from None
    return values


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise InputError(f"cannot read var file {path}: {reason}") from None


def _read_env_file(path: Path) -> None:
    """Put a ``.env`` file's ``KEY=VALUE`` lines into the environment, as chaoslib does."""
    for number, line in enumerate(_text(path).split(os.linesep), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key:
            raise InputError(
                f"var file {path}, line {number}: {line[:40]!r} is not KEY=VALUE; a var file "
                "that is not .json/.yaml/.yml is a .env file of KEY=VALUE lines"
            )
        os.environ[key] = value


def resolve_configuration(
    declared: Mapping[str, Any], values: Mapping[str, Any], where: str
) -> dict[str, Any]:
    """Return ``declared`` resolved as ``chaos run`` resolves it (``load_configuration``).

    ``{"type": "env", "key": ...}`` entries read the environment (their default
    when unset); ``values`` (the var files' and ``--var``'s) win.
    """
    from chaoslib.configuration import load_configuration
    from chaoslib.exceptions import ChaosException

    for key, value in declared.items():
        if isinstance(value, dict) and value.get("type") == "env" and "key" not in value:
            raise InputError(
                f"{where}: configuration.{key} reads the environment but names no 'key'; "
                'write {"type": "env", "key": "VARIABLE"}'
            )
    try:
        return dict(load_configuration(dict(declared), dict(values)))
    except (ChaosException, ValueError, TypeError) as error:
        raise InputError(f"{where}: {error}") from None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {json.dumps(value)}"
    if isinstance(value, list):
        return "a list" if value else "an empty list []"
    if isinstance(value, dict):
        return "an object" if value else "an empty object {}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return f"the {type(value).__name__} {value!r}"


def undeclared_keys_note(
    declared: Mapping[str, Any],
    given: Mapping[str, Any],
    where: str,
    read: Optional[frozenset[str]] = None,
) -> Optional[str]:
    """Return one line naming the given keys ``chaos run`` drops (not declared), if any."""
    dropped = sorted(set(given) - set(declared) - (read or set()))
    if not dropped:
        return None
    return (
        f"{where} does not declare {', '.join(map(repr, dropped))} in its configuration: "
        "chaos run drops these var-file keys (declare them there, or leave them out)"
    )
