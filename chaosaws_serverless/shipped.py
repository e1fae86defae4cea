"""Files the package ships besides its code: the ready experiments, the catalog, the SSM document.

In the repository they live at the top level, ``experiments/`` and ``ssm/``
(the source of truth); ``chaosaws_serverless/_shipped/`` holds two relative
symbolic links to them. setuptools follows the links when it builds the sdist
and the wheel (``package_data`` in setup.cfg), so both carry real copies at
``chaosaws_serverless/_shipped/{experiments,ssm}`` without anyone copying by
hand, and every install layout (a virtualenv, ``pip install --user``, an
editable install, the checkout itself) finds them the same way: through
``importlib.resources``, relative to the imported package, never through
``sys.prefix``.
"""

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

__all__ = ["EXPERIMENTS", "SSM", "SSM_DOCUMENT_NAME", "shipped", "shipped_path"]

EXPERIMENTS = "experiments"
SSM = "ssm"
# The name the activities, the FIS templates, the dead man's switch and the IAM policies give
# the shipped SSM Automation document (``ssm.document``) when it is registered.
SSM_DOCUMENT_NAME = "chaosaws-serverless-chaos-layer"
_FOLDER = "_shipped"


def shipped(*parts: str) -> Traversable:
    """Return a shipped file or folder, e.g. ``shipped("experiments", "region-failure.json")``."""
    node = files(__package__ or "chaosaws_serverless").joinpath(_FOLDER)
    for part in parts:
        node = node.joinpath(part)
    if not (node.is_file() or node.is_dir()):
        raise FileNotFoundError(
            f"{'/'.join(parts)} is not in this installation of chaostoolkit-aws-serverless "
            f"({node}); reinstall it: pip install --force-reinstall chaostoolkit-aws-serverless"
        )
    return node


def shipped_path(*parts: str) -> Path:
    """Return a shipped file or folder as a file-system path (symbolic links resolved)."""
    node = shipped(*parts)
    if not isinstance(node, Path):  # a zip import: pip never installs that way
        raise FileNotFoundError(
            f"{'/'.join(parts)} is inside an archive ({node}); install chaostoolkit-aws-serverless "
            "with pip so its files are on disk"
        )
    return node.resolve()
