"""Chaos Toolkit loader control: expand catalog references when ``chaos run`` loads an experiment.

chaostoolkit runs global controls of level ``loader`` right after parsing the
experiment file and before validating it; ``after_loading_experiment_control``
receives the parsed experiment as ``state`` and rewrites it in place, so
``chaos run`` validates and runs the expanded experiment. Declare it in the
settings file (``controls:``) or in a file passed with ``chaos run
--control-file``::

    chaosaws-serverless-catalog:
      provider:
        type: python
        module: chaosaws_serverless.catalog.control
        arguments:            # optional
          catalog_dirs: [my-team-catalog]

``chaos validate`` does not load global controls (chaostoolkit 1.19 and 1.21): validate
the expanded form, ``chaosaws-serverless compose SHORT.yaml -o full.json``.
A composition error interrupts the run with one line naming the piece and the
fix; nothing has run by then.
"""

from pathlib import Path
from typing import Any, List, Optional, Union

from chaosaws_serverless.catalog.compose import EXTENSION_NAME, expand, has_references
from chaosaws_serverless.catalog.pieces import Catalog, CatalogError

__all__ = ["after_loading_experiment_control", "catalog_for"]


def catalog_for(
    source: Optional[str],
    experiment: Any,
    catalog_dirs: Union[str, List[str], None] = None,
) -> Catalog:
    """Return the catalog for an experiment loaded from ``source``.

    Directories named by the control's ``catalog_dirs`` and by the
    experiment's catalog extension come first; relative ones are resolved
    against the experiment file's folder, so a team catalog can sit beside
    its experiments.
    """
    # An experiment fetched over HTTP has no folder: its relative dirs are the cwd's.
    base = Path(source).resolve().parent if source and "://" not in source else Path.cwd()
    dirs: List[Path] = []
    if isinstance(catalog_dirs, str):
        catalog_dirs = [catalog_dirs]
    for extension in experiment.get("extensions") or []:
        if isinstance(extension, dict) and extension.get("name") == EXTENSION_NAME:
            own = extension.get("catalog_dirs") or []
            dirs.extend(base / d for d in ([own] if isinstance(own, str) else own))
    dirs.extend(Path(d) if Path(d).is_absolute() else base / d for d in catalog_dirs or [])
    return Catalog.default(dirs)


def after_loading_experiment_control(
    context: str,
    state: Any,
    catalog_dirs: Union[str, List[str], None] = None,
    **kwargs: Any,
) -> None:
    """Replace the loaded experiment ``state`` by its expansion (in place)."""
    # Experiments without references pass untouched, so the control can sit in
    # the settings file for every run.
    if not isinstance(state, dict) or not has_references(state):
        return
    try:
        expanded = expand(state, catalog_for(context, state, catalog_dirs))
    except CatalogError:
        raise
    except Exception as error:  # chaoslib would swallow it and validate the short form
        raise CatalogError(f"expanding catalog references in {context}: {error}") from error
    state.clear()
    state.update(expanded)
