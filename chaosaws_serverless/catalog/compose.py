"""Compose Chaos Toolkit experiments from the catalog's pieces.

A piece is a YAML file under a catalog directory (``experiments/catalog/`` in
this repository); its name is its path without ``.yaml``, e.g.
``method/region-latency-fault``. A piece holds any of::

    description: one sentence (required)
    variables:                # compose-time parameters, written {{name}} in the piece
      region: {description: ..., default: us-east-1}   # no default: required
    configuration: {...}      # Chaos Toolkit configuration keys it needs, with defaults
    experiment: {...}         # top-level keys: title, description, tags, runtime...
    steady-state-hypothesis: {title: ..., probes: [...]}
    method: [...]
    rollbacks: [...]

Two kinds of placeholders, on purpose distinct: ``{{name}}`` is a piece
variable, replaced when composing; ``${name}`` is Chaos Toolkit configuration,
left in the experiment and replaced by ``chaos run`` (``--var-file``). A string
that is exactly ``"{{name}}"`` takes the variable's value with its JSON type.
An activity list item ``{for_each: x, in: "{{xs}}", do: {...}}`` repeats
``do`` for every element of the list ``xs``, with ``{{x}}`` bound to it.

An experiment references pieces inline, in its hypothesis probes, method or
rollbacks: ``{"piece": "method/region-latency-fault", "with": {"region": ...}}``,
and at the top level through its ``extensions`` entry named
``chaosaws-serverless-catalog`` (``pieces``, shared ``variables``,
``catalog_dirs``). Expanding puts an inline piece's activities of that list in
place and appends its other sections (a fault's rollbacks, its configuration);
the experiment's own values win over the pieces' defaults. Unknown pieces,
missing or unknown variables and clashes (two pieces giving one configuration
key or top-level key different values, two activities with one name) raise
:class:`CatalogError`, which names the pieces involved and the fix.
"""

import difflib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import yaml
from chaoslib.exceptions import InterruptExecution, InvalidSource

from chaosaws_serverless.experiment import activities

__all__ = [
    "CATALOG_ENV",
    "EXTENSION_NAME",
    "Catalog",
    "CatalogError",
    "Piece",
    "compose",
    "default_catalog_dirs",
    "dumps",
    "expand",
    "has_references",
    "parse_value",
]

EXTENSION_NAME = "chaosaws-serverless-catalog"
# Extra catalog directories, separated like PATH; searched with the built-in one.
CATALOG_ENV = "CHAOSAWS_SERVERLESS_CATALOG"

_SECTIONS = ("steady-state-hypothesis", "method", "rollbacks")
_PIECE_KEYS = {"description", "variables", "configuration", "experiment", *_SECTIONS}
# The order of top-level keys in a composed experiment; others follow, sorted.
_EXPERIMENT_ORDER = (
    "version",
    "title",
    "description",
    "tags",
    "contributions",
    "configuration",
    "secrets",
    "extensions",
    "controls",
    "steady-state-hypothesis",
    "method",
    "rollbacks",
    "runtime",
)
# {{name}} or {{name.key}} (a key of a mapping, e.g. a for_each element).
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*\}\}")
_CONFIGURATION_REFERENCE = re.compile(r"\$\{([A-Za-z_]\w*)\}")


class CatalogError(InterruptExecution, InvalidSource):
    """A piece or a reference cannot be composed; the message says which and how to fix it.

    It is an ``InterruptExecution`` so that chaoslib's loader lets it through
    (it logs and swallows any other error a control raises) and an
    ``InvalidSource`` so that ``chaos run`` prints it as one line and exits 1.
    """


@dataclass(frozen=True)
class Piece:
    """One catalog piece: its name, file, description, variables and body."""

    name: str
    path: Path
    description: str
    variables: Mapping[str, Mapping[str, Any]]
    body: Mapping[str, Any]

    def resolve_variables(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Return the variables: ``given`` values, else defaults; raise if one is missing."""
        unknown = sorted(set(given) - set(self.variables))
        if unknown:
            raise CatalogError(
                f"piece {self.name!r} has no variable {unknown[0]!r}; its variables are "
                f"{_names(self.variables)}"
            )
        values = {}
        for name, spec in self.variables.items():
            if name in given:
                values[name] = given[name]
            elif "default" in spec:
                values[name] = deepcopy(spec["default"])
            else:
                raise CatalogError(
                    f"piece {self.name!r} needs variable {name!r} ({spec.get('description', '')}): "
                    f'pass --var {name}=VALUE, or "with": {{"{name}": VALUE}} in the reference'
                )
        return values

    def instantiate(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Return the piece's body with its variables replaced (``for_each`` expanded)."""
        values = self.resolve_variables(given)
        return {
            key: _render(value, values, self.name)
            for key, value in self.body.items()
            if key not in ("description", "variables")
        }


@dataclass
class Catalog:
    """The pieces found in one or more catalog directories (a name in two of them is an error)."""

    dirs: Sequence[Path]
    _pieces: dict[str, Piece] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.dirs = [Path(d) for d in self.dirs]
        for directory in self.dirs:
            if not directory.is_dir():
                raise CatalogError(
                    f"catalog directory {str(directory)!r} does not exist; pass an existing "
                    f"folder of *.yaml pieces (catalog_dirs, --catalog or ${CATALOG_ENV})"
                )
            for path in sorted(directory.rglob("*.yaml")):
                name = path.relative_to(directory).with_suffix("").as_posix()
                if name in self._pieces:
                    raise CatalogError(
                        f"piece {name!r} is defined twice: {self._pieces[name].path} and {path}; "
                        "rename one of them"
                    )
                self._pieces[name] = _load_piece(name, path)

    @classmethod
    def default(cls, extra_dirs: Iterable[Union[str, Path]] = ()) -> "Catalog":
        """Return the catalog of ``extra_dirs``, then of ``default_catalog_dirs()``."""
        return cls([*map(Path, extra_dirs), *default_catalog_dirs()])

    def names(self) -> list[str]:
        """Return every piece name, sorted."""
        return sorted(self._pieces)

    def piece(self, name: str) -> Piece:
        """Return the piece called ``name``; raise naming the closest names when unknown."""
        try:
            return self._pieces[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._pieces, n=3, cutoff=0.5)
            hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise CatalogError(
                f"unknown catalog piece {name!r}{hint} (`chaosaws-serverless catalog` lists "
                f"the {len(self._pieces)} pieces of {', '.join(map(str, self.dirs)) or 'nowhere'})"
            ) from None


def default_catalog_dirs() -> list[Path]:
    """Return ``$CHAOSAWS_SERVERLESS_CATALOG``'s directories, then the built-in catalog."""
    from chaosaws_serverless.shipped import EXPERIMENTS, shipped_path

    dirs = [Path(p) for p in os.environ.get(CATALOG_ENV, "").split(os.pathsep) if p]
    # The built-in catalog: the repository's experiments/catalog, shipped inside the package.
    dirs.append(shipped_path(EXPERIMENTS, "catalog"))
    return dirs


def parse_value(text: str) -> Any:
    """Return ``text`` as JSON when it parses (numbers, lists, booleans), else as the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def compose(
    references: Sequence[Union[str, Mapping[str, Any]]],
    catalog: Catalog,
    variables: Optional[Mapping[str, Any]] = None,
    base: Optional[Mapping[str, Any]] = None,
) -> dict[str, Any]:
    """Return the experiment made of ``base`` (default empty) and the pieces ``references``.

    ``references`` are piece names or ``{"piece": name, "with": {...}}``;
    ``variables`` apply to every piece that declares them.
    """
    experiment = deepcopy(dict(base or {}))
    extension = _catalog_extension(experiment, create=True)
    assert extension is not None  # create=True always returns one
    extension.setdefault("pieces", []).extend(references)
    if variables:
        extension.setdefault("variables", {}).update(variables)
    return expand(experiment, catalog)


def expand(source: Mapping[str, Any], catalog: Catalog) -> dict[str, Any]:
    """Return the experiment ``source`` with every catalog reference replaced by the pieces."""
    experiment = deepcopy(dict(source))
    extension = _catalog_extension(experiment, create=False) or {}
    shared = dict(extension.get("variables") or {})
    top_refs = list(extension.get("pieces") or [])
    experiment["extensions"] = [
        e for e in experiment.get("extensions", []) if e.get("name") != EXTENSION_NAME
    ]
    if not experiment["extensions"]:
        del experiment["extensions"]

    merger = _Merger(experiment)
    used_variables: set[str] = set()

    def instantiate(ref: Any) -> tuple[Piece, dict[str, Any]]:
        name, given = _reference(ref)
        piece = catalog.piece(name)
        used_variables.update(set(piece.variables) & set(shared))
        scoped = {k: v for k, v in shared.items() if k in piece.variables}
        scoped.update(given)
        return piece, piece.instantiate(scoped)

    # Inline references first, in document order, so each piece's own list
    # lands where it is referenced; their other sections are appended after.
    # Not chaoslib's walk (experiment.activities): that one returns one flat
    # list, and here each item must stay in its section, where its piece's
    # activities are placed.
    hypothesis = experiment.get("steady-state-hypothesis")
    lists = {
        "steady-state-hypothesis": hypothesis.get("probes", []) if hypothesis else [],
        "method": experiment.get("method", []),
        "rollbacks": experiment.get("rollbacks", []),
    }
    appended: dict[str, list[tuple[str, dict[str, Any]]]] = {s: [] for s in _SECTIONS}
    placed: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for section, items in lists.items():
        placed[section] = []
        for item in items:
            if isinstance(item, Mapping) and "piece" in item:
                piece, body = instantiate(item)
                merger.merge(piece.name, body)
                for other in _SECTIONS:
                    activities = [(f"piece {piece.name!r}", a) for a in _activities(body, other)]
                    (placed[section] if other == section else appended[other]).extend(activities)
            else:
                placed[section].append(("the experiment", item))
    for ref in top_refs:
        piece, body = instantiate(ref)
        merger.merge(piece.name, body)
        for section in _SECTIONS:
            appended[section].extend(
                (f"piece {piece.name!r}", a) for a in _activities(body, section)
            )

    unused = sorted(set(shared) - used_variables)
    if unused:
        raise CatalogError(
            f"variable {unused[0]!r} is not a variable of any composed piece; "
            "check its spelling (`chaosaws-serverless catalog` lists each piece's variables)"
        )

    result = merger.result()
    seen: dict[str, str] = {}
    for section in _SECTIONS:
        activities = placed[section] + appended[section]
        for origin, activity in activities:
            name = activity.get("name") if isinstance(activity, Mapping) else None
            if name is None:
                continue
            if name in seen:
                raise CatalogError(
                    f"activity name {name!r} comes from both {seen[name]} and {origin}: "
                    "activity names must be unique; rename one or drop a duplicate piece"
                )
            seen[name] = origin
        for origin, activity in activities:
            _check_configuration_references(origin, activity, result, catalog)
        values = [a for _, a in activities]
        if section == "steady-state-hypothesis":
            if values or "steady-state-hypothesis" in result:
                hypo = result.setdefault("steady-state-hypothesis", {})
                hypo["probes"] = values
                if not hypo.get("title"):
                    raise CatalogError(
                        "the composed steady-state hypothesis has no title: add a scenario/* "
                        "piece or set steady-state-hypothesis.title in the experiment"
                    )
                result["steady-state-hypothesis"] = {
                    "title": hypo["title"],
                    **{k: v for k, v in hypo.items() if k != "title"},
                }
        elif values or section in result:
            result[section] = values
    result.setdefault("method", [])
    return _ordered(result)


def has_references(experiment: Mapping[str, Any]) -> bool:
    """Return whether ``experiment`` references any catalog piece (inline or in its extension)."""
    if _catalog_extension(dict(experiment), create=False) is not None:
        return True
    return any("piece" in item for item in activities(experiment))


def _check_configuration_references(
    origin: str, activity: Any, experiment: Mapping[str, Any], catalog: Catalog
) -> None:
    """Raise when an activity uses ``${key}`` that neither configuration nor secrets declare.

    chaoslib would leave the text "${key}" in place and the activity would
    fail later against AWS with a far less helpful message.
    """
    declared = set(experiment.get("configuration") or {})
    for scope in (experiment.get("secrets") or {}).values():
        if isinstance(scope, Mapping):
            declared.update(scope)
    for key in _CONFIGURATION_REFERENCE.findall(json.dumps(activity)):
        if key in declared:
            continue
        providers = [
            name
            for name in catalog.names()
            if key in (catalog.piece(name).body.get("configuration") or {})
        ]
        fix = f"compose {' or '.join(providers)}, or " if providers else ""
        raise CatalogError(
            f"{origin} uses ${{{key}}} but the experiment's configuration does not declare "
            f"{key!r}: {fix}add {key!r} to the experiment's configuration"
        )


def dumps(experiment: Mapping[str, Any]) -> str:
    """Return the canonical JSON text of an experiment (what `compose` writes)."""
    return json.dumps(experiment, indent=2, ensure_ascii=False) + "\n"


class _Merger:
    """Merge pieces' configuration and top-level keys into the experiment, detecting clashes."""

    def __init__(self, experiment: dict[str, Any]) -> None:
        self.own = experiment
        self.configuration: dict[str, Any] = {}
        self.top: dict[str, Any] = {}
        self.origin: dict[str, str] = {}

    def merge(self, piece: str, body: Mapping[str, Any]) -> None:
        for key, value in (body.get("configuration") or {}).items():
            self._put(self.configuration, key, value, piece, f"configuration key {key!r}")
        top = dict(body.get("experiment") or {})
        hypo_title = (body.get("steady-state-hypothesis") or {}).get("title")
        if hypo_title:
            top["steady-state-hypothesis"] = {"title": hypo_title}
        self._merge_tree(self.top, top, piece, "")

    def _merge_tree(
        self, into: dict[str, Any], new: Mapping[str, Any], piece: str, at: str
    ) -> None:
        for key, value in new.items():
            path = f"{at}.{key}" if at else key
            if isinstance(value, Mapping) and isinstance(into.get(key), Mapping):
                self._merge_tree(into[key], value, piece, path)
            elif isinstance(value, list) and isinstance(into.get(key), list) and key == "tags":
                into[key].extend(v for v in value if v not in into[key])
            elif isinstance(value, list) and isinstance(into.get(key), list) and key == "controls":
                self._merge_controls(into[key], value, piece)
            else:
                self._put(into, key, value, piece, f"{path!r}", origin_key=path)

    def _merge_controls(self, into: list[Any], new: Sequence[Any], piece: str) -> None:
        """Pieces declare controls by name: one entry per name, the same body wherever declared."""
        by_name = {c.get("name"): c for c in into if isinstance(c, Mapping)}
        for control in new:
            name = control.get("name") if isinstance(control, Mapping) else None
            if name in by_name and by_name[name] != control:
                first = self.origin.get(f"controls.{name}", self.origin.get("controls"))
                raise CatalogError(
                    f"control {name!r} clashes: piece {first!r} and "
                    f"piece {piece!r} declare it differently; declare it the same way or once"
                )
            if name not in by_name:
                into.append(deepcopy(control))
                by_name[name] = control
                self.origin[f"controls.{name}"] = piece
        # By name: inline pieces expand before top-level ones, and the order must not depend on it.
        into.sort(key=lambda c: str(c.get("name")) if isinstance(c, Mapping) else "")

    def _put(
        self,
        into: dict[str, Any],
        key: str,
        value: Any,
        piece: str,
        what: str,
        origin_key: Optional[str] = None,
    ) -> None:
        origin_key = origin_key or f"configuration.{key}"
        if key in into and into[key] != value:
            raise CatalogError(
                f"{what} clashes: piece {self.origin[origin_key]!r} sets {into[key]!r} and piece "
                f"{piece!r} sets {value!r}; set it once in the experiment itself (its value wins) "
                "or compose only one of the two pieces"
            )
        if key not in into:
            into[key] = deepcopy(value)
            self.origin[origin_key] = piece

    def result(self) -> dict[str, Any]:
        result = deepcopy(self.top)
        own = self.own
        for key, value in own.items():
            if key == "configuration":
                continue
            if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
                result[key] = _overlay(result[key], value)
            elif key == "tags" and isinstance(result.get(key), list):
                result[key] = list(value) + [t for t in result[key] if t not in value]
            else:
                result[key] = deepcopy(value)
        if self.configuration or "configuration" in own:
            configuration = deepcopy(self.configuration)
            configuration.update(deepcopy(own.get("configuration") or {}))
            result["configuration"] = configuration
        return result


def _overlay(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(deepcopy(base))
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _overlay(merged[key], value)
        else:
            merged[key] = deepcopy(value)
    return merged


def _ordered(experiment: Mapping[str, Any]) -> dict[str, Any]:
    known = [k for k in _EXPERIMENT_ORDER if k in experiment]
    others = sorted(k for k in experiment if k not in _EXPERIMENT_ORDER)
    return {k: experiment[k] for k in [*known, *others]}


def _catalog_extension(experiment: dict[str, Any], create: bool) -> Optional[dict[str, Any]]:
    extensions = experiment.get("extensions")
    if extensions is not None and not isinstance(extensions, list):
        raise CatalogError(f"the experiment's 'extensions' must be a list, got {extensions!r}")
    for extension in extensions or []:
        if isinstance(extension, dict) and extension.get("name") == EXTENSION_NAME:
            return extension
    if not create:
        return None
    extension = {"name": EXTENSION_NAME}
    experiment.setdefault("extensions", []).append(extension)
    return extension


def _reference(ref: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(ref, str):
        return ref, {}
    if isinstance(ref, Mapping) and isinstance(ref.get("piece"), str):
        extra = sorted(set(ref) - {"piece", "with"})
        if extra:
            raise CatalogError(
                f"reference to piece {ref['piece']!r} has unknown key {extra[0]!r}; "
                'a reference is {"piece": NAME, "with": {VARIABLE: VALUE}}'
            )
        given = ref.get("with") or {}
        if not isinstance(given, Mapping):
            raise CatalogError(
                f"'with' of the reference to piece {ref['piece']!r} must be a mapping of "
                f"variables, got {given!r}"
            )
        return ref["piece"], dict(given)
    raise CatalogError(
        f'a catalog reference is a piece name or {{"piece": NAME, "with": {{...}}}}, got {ref!r}'
    )


def _activities(body: Mapping[str, Any], section: str) -> list[Any]:
    if section == "steady-state-hypothesis":
        return list((body.get(section) or {}).get("probes") or [])
    return list(body.get(section) or [])


def _load_piece(name: str, path: Path) -> Piece:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise CatalogError(f"piece {name!r} ({path}) is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise CatalogError(f"piece {name!r} ({path}) must be a YAML mapping, got {data!r}")
    unknown = sorted(set(data) - _PIECE_KEYS)
    if unknown:
        raise CatalogError(
            f"piece {name!r} ({path}) has unknown key {unknown[0]!r}; "
            f"a piece may hold {', '.join(sorted(_PIECE_KEYS))}"
        )
    description = data.get("description")
    if not isinstance(description, str) or not description.strip():
        raise CatalogError(f"piece {name!r} ({path}) needs a one-sentence 'description'")
    variables = data.get("variables") or {}
    if not isinstance(variables, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("description"), str) for v in variables.values()
    ):
        raise CatalogError(
            f"piece {name!r} ({path}): 'variables' maps each name to "
            "{description: ..., default: ...} (default optional)"
        )
    return Piece(name, path, description.strip(), variables, data)


def _render(value: Any, values: Mapping[str, Any], piece: str) -> Any:
    if isinstance(value, str):
        whole = _VARIABLE.fullmatch(value.strip())
        if whole:
            return deepcopy(_lookup(whole.group(1), values, piece))
        return _VARIABLE.sub(lambda m: _text(_lookup(m.group(1), values, piece)), value)
    if isinstance(value, list):
        rendered: list[Any] = []
        for item in value:
            if isinstance(item, Mapping) and "for_each" in item:
                rendered.extend(_for_each(item, values, piece))
            else:
                rendered.append(_render(item, values, piece))
        return rendered
    if isinstance(value, Mapping):
        return {key: _render(item, values, piece) for key, item in value.items()}
    return value


def _for_each(item: Mapping[str, Any], values: Mapping[str, Any], piece: str) -> list[Any]:
    if set(item) != {"for_each", "in", "do"}:
        raise CatalogError(
            f"piece {piece!r}: a loop is {{for_each: NAME, in: '{{{{LIST}}}}', do: ACTIVITY}}, "
            f"got keys {sorted(item)}"
        )
    elements = _render(item["in"], values, piece)
    if not isinstance(elements, list):
        raise CatalogError(
            f"piece {piece!r}: for_each {item['for_each']!r} needs a list, got {elements!r}"
        )
    return [_render(item["do"], {**values, item["for_each"]: e}, piece) for e in elements]


def _lookup(dotted: str, values: Mapping[str, Any], piece: str) -> Any:
    name, *keys = dotted.split(".")
    if name not in values:
        raise CatalogError(
            f"piece {piece!r} uses {{{{{dotted}}}}} but declares no variable {name!r}; "
            f"its variables are {_names(values)}"
        )
    value = values[name]
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            raise CatalogError(
                f"piece {piece!r} uses {{{{{dotted}}}}} but {name!r} is {values[name]!r}, "
                f"which has no key {key!r}"
            )
        value = value[key]
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _names(mapping: Iterable[str]) -> str:
    names = sorted(mapping)
    return ", ".join(repr(n) for n in names) if names else "none"
