"""The catalog's pieces: YAML files of experiment parts with compose-time variables.

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
How pieces make an experiment is ``catalog.compose``.
"""

import difflib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from chaoslib.exceptions import InterruptExecution, InvalidSource

__all__ = [
    "CATALOG_ENV",
    "SECTIONS",
    "Catalog",
    "CatalogError",
    "Piece",
    "default_catalog_dirs",
    "parse_value",
]

# Extra catalog directories, separated like PATH; searched with the built-in one.
CATALOG_ENV = "CHAOSAWS_SERVERLESS_CATALOG"
# The sections that hold activities, in the order chaoslib runs them.
SECTIONS = ("steady-state-hypothesis", "method", "rollbacks")
_PIECE_KEYS = {"description", "variables", "configuration", "descriptions", "experiment", *SECTIONS}
# {{name}} or {{name.key}} (a key of a mapping, e.g. a for_each element).
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*\}\}")


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


def _load_piece(name: str, path: Path) -> Piece:
    from chaosaws_serverless.inputs import InputError, read_mapping

    try:
        data = read_mapping(path, f"catalog piece {name!r}")
    except InputError as error:
        raise CatalogError(str(error)) from None
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
