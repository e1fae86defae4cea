"""The Lambda deployment package of the load generator, built from this installation.

The zip holds the load generator's modules under their package names (with a
stub ``chaosaws_serverless/__init__.py``: the real one needs chaoslib, which
Lambda does not) and, unless a dependencies layer is given, aiohttp, httptools
and hdrhistogram with their dependencies copied from this environment. Copying is
only right when this machine matches the runtime: same Python minor version,
Linux x86_64, and wheels whose manylinux glibc is not newer than the runtime's;
``vendor_problems`` says what does not match, and the caller then needs a layer
built with ``pip install --platform manylinux2014_x86_64 --only-binary=:all:``.
"""

import importlib.metadata
import io
import platform
import re
import sys
import zipfile
from pathlib import Path

from packaging.requirements import Requirement

__all__ = ["BUNDLED_MODULES", "VENDORED_ROOTS", "build_zip", "lambda_runtime", "vendor_problems"]

_PACKAGE_ROOT = Path(__file__).resolve().parents[1]
BUNDLED_MODULES = (
    "metric_names.py",
    "patterns.py",
    "loadgen/__init__.py",
    "loadgen/config.py",
    "loadgen/stats.py",
    "loadgen/publish.py",
    "loadgen/governor.py",
    "loadgen/scheduler.py",
    "loadgen/summary.py",
    "loadgen/engine.py",
    "loadgen/clients/__init__.py",
    "loadgen/clients/base.py",
    "loadgen/clients/choice.py",
    "loadgen/clients/aiohttp.py",
    "loadgen/clients/http1.py",
    "loadgen/clients/http1_connection.py",
    "loadgen/handler.py",
)
STUB_INIT = '"""Lambda bundle of chaosaws_serverless: the load generator only."""\n'
VENDORED_ROOTS = ("aiohttp", "hdrhistogram", "httptools")
# Build-time requirements of hdrhistogram that its code never imports; boto3 is in the runtime.
_NOT_VENDORED = {"pbr", "setuptools", "boto3", "botocore"}
# glibc of the Lambda Python runtimes: Amazon Linux 2 up to 3.11, Amazon Linux 2023 after.
_RUNTIME_GLIBC = {"python3.9": (2, 26), "python3.10": (2, 26), "python3.11": (2, 26)}
_AL2023_GLIBC = (2, 34)
_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def lambda_runtime() -> str:
    """Return the Lambda runtime matching this Python (``python3.11``)."""
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def _closure(roots: tuple[str, ...]) -> list[importlib.metadata.Distribution]:
    seen: dict[str, importlib.metadata.Distribution] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen or key in _NOT_VENDORED:
            continue
        dist = importlib.metadata.distribution(name)
        seen[key] = dist
        for spec in dist.requires or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return [seen[k] for k in sorted(seen)]


def _min_glibc(dist: importlib.metadata.Distribution) -> tuple[int, int]:
    """Return the oldest glibc a binary wheel supports ((0, 0) for pure Python)."""
    tags = [
        line.split(":", 1)[1].strip()
        for line in (dist.read_text("WHEEL") or "").splitlines()
        if line.startswith("Tag:")
    ]
    best: tuple[int, int] | None = None
    for tag in tags:
        plat = tag.rsplit("-", 1)[-1]
        if plat == "any":
            return (0, 0)
        match = re.match(r"manylinux_(\d+)_(\d+)_", plat)
        version = (int(match[1]), int(match[2])) if match else None
        for legacy, legacy_version in _LEGACY_MANYLINUX.items():
            if plat.startswith(legacy + "_"):
                version = legacy_version
        if version is not None and (best is None or version < best):
            best = version
    return best if best is not None else (99, 99)


def vendor_problems(runtime: str) -> list[str]:
    """Return why this environment's dependencies cannot run on ``runtime`` (empty: they can)."""
    problems = []
    if runtime != lambda_runtime():
        problems.append(f"this Python is {lambda_runtime()}, the function runs {runtime}")
    if sys.platform != "linux" or platform.machine() != "x86_64":
        problems.append(f"this machine is {sys.platform}/{platform.machine()}, not linux/x86_64")
    limit = _RUNTIME_GLIBC.get(runtime, _AL2023_GLIBC)
    try:
        dists = _closure(VENDORED_ROOTS)
    except importlib.metadata.PackageNotFoundError as error:
        return [
            *problems,
            f"{error.name} is not installed (pip install 'chaostoolkit-aws-serverless[load]')",
        ]
    for dist in dists:
        needed = _min_glibc(dist)
        if needed > limit:
            problems.append(
                f"{dist.metadata['Name']} {dist.version} is built for glibc "
                f"{needed[0]}.{needed[1]}, newer than {runtime}'s {limit[0]}.{limit[1]}"
            )
    return problems


def build_zip(vendor: bool = True) -> tuple[bytes, list[str]]:
    """Return the zip's bytes and the vendored distributions (``name==version``)."""
    buffer = io.BytesIO()
    vendored: list[str] = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(_entry("chaosaws_serverless/__init__.py"), STUB_INIT)
        for relative in BUNDLED_MODULES:
            source = (_PACKAGE_ROOT / relative).read_bytes()
            bundle.writestr(_entry(f"chaosaws_serverless/{relative}"), source)
        if vendor:
            for dist in _closure(VENDORED_ROOTS):
                vendored.append(f"{dist.metadata['Name']}=={dist.version}")
                for file in dist.files or []:
                    path = str(file)
                    if path.startswith("..") or "__pycache__" in path or path.endswith(".pyc"):
                        continue  # scripts outside site-packages, caches
                    bundle.writestr(_entry(path), Path(str(dist.locate_file(file))).read_bytes())
    return buffer.getvalue(), vendored


def _entry(name: str) -> zipfile.ZipInfo:
    # Fixed timestamps and modes: the same installation gives the same CodeSha256.
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info
