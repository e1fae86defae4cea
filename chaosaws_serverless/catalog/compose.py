"""Compose Chaos Toolkit experiments from the catalog's pieces (``catalog.pieces``).

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

import json
import re
from collections.abc import Mapping, Sequence
from copy import deepcopy
from typing import Any, Callable, Optional, Union

from chaosaws_serverless.catalog.pieces import SECTIONS, Catalog, CatalogError, Piece
from chaosaws_serverless.experiment import activities

__all__ = ["EXTENSION_NAME", "compose", "dumps", "expand", "has_references"]

EXTENSION_NAME = "chaosaws-serverless-catalog"
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
_CONFIGURATION_REFERENCE = re.compile(r"\$\{([A-Za-z_]\w*)\}")


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


# Where a composed activity comes from ("the experiment", "piece 'x'"), and the activity.
Placed = list[tuple[str, Any]]


def expand(source: Mapping[str, Any], catalog: Catalog) -> dict[str, Any]:
    """Return the experiment ``source`` with every catalog reference replaced by the pieces.

    Phases: take the catalog extension out; instantiate the pieces (inline
    references where they stand, then the extension's) and merge their
    configuration and top-level keys; refuse an unused shared variable; lay
    out each section (unique names, declared ``${key}``s); order the keys.
    """
    experiment = deepcopy(dict(source))
    extension = _catalog_extension(experiment, create=False) or {}
    shared = dict(extension.get("variables") or {})
    experiment["extensions"] = [
        e for e in experiment.get("extensions", []) if e.get("name") != EXTENSION_NAME
    ]
    if not experiment["extensions"]:
        del experiment["extensions"]
    merger = _Merger(experiment)
    used: set[str] = set()

    def instantiate(ref: Any) -> tuple[Piece, dict[str, Any]]:
        name, given = _reference(ref)
        piece = catalog.piece(name)
        used.update(set(piece.variables) & set(shared))
        scoped = {k: v for k, v in shared.items() if k in piece.variables}
        scoped.update(given)
        body = piece.instantiate(scoped)
        merger.merge(piece.name, body)
        return piece, body

    placed, appended = _place_pieces(experiment, list(extension.get("pieces") or []), instantiate)
    unused = sorted(set(shared) - used)
    if unused:
        raise CatalogError(
            f"variable {unused[0]!r} is not a variable of any composed piece; "
            "check its spelling (`chaosaws-serverless catalog` lists each piece's variables)"
        )
    result = merger.result()
    _lay_out_sections(result, {s: placed[s] + appended[s] for s in SECTIONS}, catalog)
    result.setdefault("method", [])
    return _ordered(result)


def _place_pieces(
    experiment: Mapping[str, Any],
    top_refs: list[Any],
    instantiate: Callable[[Any], tuple[Piece, dict[str, Any]]],
) -> tuple[dict[str, Placed], dict[str, Placed]]:
    """Return, per section, the activities in place and those appended after them.

    Inline references first, in document order, so each piece's own list lands
    where it is referenced; their other sections, and the extension's pieces,
    are appended after. Not chaoslib's walk (``experiment.activities``): that
    one returns one flat list, and here each item must stay in its section.
    """
    hypothesis = experiment.get("steady-state-hypothesis")
    lists = {
        "steady-state-hypothesis": hypothesis.get("probes", []) if hypothesis else [],
        "method": experiment.get("method", []),
        "rollbacks": experiment.get("rollbacks", []),
    }
    appended: dict[str, Placed] = {s: [] for s in SECTIONS}
    placed: dict[str, Placed] = {}
    for section, items in lists.items():
        placed[section] = []
        for item in items:
            if isinstance(item, Mapping) and "piece" in item:
                piece, body = instantiate(item)
                for other in SECTIONS:
                    found = [
                        (f"piece {piece.name!r}", a) for a in _piece_activities(piece, body, other)
                    ]
                    (placed[section] if other == section else appended[other]).extend(found)
            else:
                placed[section].append(("the experiment", item))
    for ref in top_refs:
        piece, body = instantiate(ref)
        for section in SECTIONS:
            appended[section].extend(
                (f"piece {piece.name!r}", a) for a in _piece_activities(piece, body, section)
            )
    return placed, appended


def _piece_activities(piece: Piece, body: Mapping[str, Any], section: str) -> list[Any]:
    """Return a piece's activities of ``section``; a piece referring to a piece is refused.

    References are expanded in the experiment only: one inside a piece (to itself, or to a
    piece that refers back) would stay in the composed experiment, which chaos cannot run.
    """
    found = _activities(body, section)
    for item in found:
        if isinstance(item, Mapping) and "piece" in item:
            target = item.get("piece")
            whom = "itself" if target == piece.name else f"piece {target!r}"
            raise CatalogError(
                f"piece {piece.name!r} ({piece.path}) refers to {whom} in its {section}: a "
                "piece holds activities, never references; reference both pieces from the "
                "experiment (or the compose command line) instead"
            )
    return found


def _lay_out_sections(
    result: dict[str, Any], sections: dict[str, Placed], catalog: Catalog
) -> None:
    """Write each section's activities into ``result``, refusing clashes and unknown keys."""
    seen: dict[str, str] = {}
    for section, entries in sections.items():
        for origin, activity in entries:
            name = activity.get("name") if isinstance(activity, Mapping) else None
            if name is None:
                continue
            if name in seen:
                raise CatalogError(
                    f"activity name {name!r} comes from both {seen[name]} and {origin}: "
                    "activity names must be unique; rename one or drop a duplicate piece"
                )
            seen[name] = origin
        for origin, activity in entries:
            _check_configuration_references(origin, activity, result, catalog)
        values = [a for _, a in entries]
        if section != "steady-state-hypothesis":
            if values or section in result:
                result[section] = values
            continue
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
