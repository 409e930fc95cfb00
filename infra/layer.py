"""Build the Lambda layer without Docker: manylinux wheels for the functions' architecture, our shared package, and
the bytecode of both, compiled by the runtime's own Python.

``uv export`` reads the lock, so the layer carries exactly the versions the tests ran with. Lambda mounts the layer
read-only at ``/opt``: a module without a valid ``.pyc`` there is compiled again at every cold start, so the build
compiles everything with a CPython of the runtime's minor version (``.pyc`` are tied to it by their magic number).
Each architecture builds into its own folder under the root, so building one never invalidates the other.
"""

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Literal

from infra.names import DEFAULT_LAYER_DIR, ROOT

Architecture = Literal["arm64", "x86_64"]
"""Lambda's names, as the ``architecture`` context gives them."""
ARCHITECTURES: tuple[Architecture, ...] = ("arm64", "x86_64")
DEFAULT_ARCHITECTURE: Architecture = "arm64"
PLATFORMS: dict[Architecture, str] = {"arm64": "aarch64-manylinux2014", "x86_64": "x86_64-manylinux2014"}
PYTHON_VERSION = "3.12"
"""The runtime's (``infra.names.LAMBDA_RUNTIME``): the wheels' tags and the bytecode's interpreter."""
MOUNTED_AT = "/opt/python"
"""Where Lambda puts the layer's ``python`` folder: the path the bytecode names in tracebacks."""
STAMP = ".build.json"
"""What a build was made from (its fingerprint) and for (architecture, Python); not part of the asset."""


class LayerNotCompiled(UserWarning):
    """No Python of the runtime's version was found: the layer works, but every cold start compiles it again."""


def architecture_named(name: str) -> Architecture:
    for architecture in ARCHITECTURES:
        if architecture == name:
            return architecture
    raise ValueError(f"the architecture is one of {', '.join(ARCHITECTURES)}, not {name!r}")


def host_architecture() -> Architecture:
    """The architecture of this machine, for a layer its own Python can import."""
    machine = platform.machine().lower()
    return "arm64" if machine in ("arm64", "aarch64") else "x86_64"


@cache
def runtime_python() -> tuple[Path, str] | None:
    """A CPython of the runtime's minor version that really runs, and its full version; ``None`` when there is none.

    Looked for on ``PATH`` (a pyenv shim is there even when it cannot run), then among pyenv's versions, then among
    uv's managed Pythons.
    """
    for candidate in _candidates():
        version = _version_of(candidate)
        if version is not None and version.startswith(f"{PYTHON_VERSION}."):
            return candidate, version
    return None


def _candidates() -> Iterator[Path]:
    """In order of preference, each looked for only when the ones before it did not run."""
    on_path = shutil.which(f"python{PYTHON_VERSION}")
    if on_path:
        yield Path(on_path)
    pyenv_versions = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    pattern = re.compile(rf"{re.escape(PYTHON_VERSION)}\.(\d+)")
    releases = [
        (int(match.group(1)), folder)
        for folder in (pyenv_versions.iterdir() if pyenv_versions.is_dir() else [])
        if (match := pattern.fullmatch(folder.name))
    ]
    for _, folder in sorted(releases, reverse=True):
        yield folder / "bin" / f"python{PYTHON_VERSION}"
    try:
        managed = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [_uv(), "python", "find", "--python-preference", "only-managed", PYTHON_VERSION],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return
    if managed.returncode == 0 and managed.stdout.strip():
        yield Path(managed.stdout.strip())


def _version_of(python: Path) -> str | None:
    try:
        answer = subprocess.run(  # noqa: S603
            [str(python), "-I", "-c", "import sys; print(sys.implementation.name, sys.version.split()[0])"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    name, _, version = answer.stdout.strip().partition(" ")
    return version if answer.returncode == 0 and name == "cpython" else None


def _uv() -> str:
    return os.environ.get("UV") or shutil.which("uv") or "uv"


def _fingerprint(architecture: Architecture, python_version: str | None) -> str:
    digest = hashlib.sha256()
    # This file too: a change to how the layer is built rebuilds it.
    for part in (architecture, PLATFORMS[architecture], python_version or "not compiled", Path(__file__).read_text()):
        digest.update(part.encode())
    digest.update((ROOT / "uv.lock").read_bytes())
    for path in sorted((ROOT / "shared" / "fortnox_bridge").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def built_for(layer_dir: Path) -> Architecture | None:
    """The architecture the layer in ``layer_dir`` was built for; ``None`` when no build of ours is there."""
    stamp = layer_dir / STAMP
    if not stamp.exists():
        return None
    return architecture_named(json.loads(stamp.read_text())["architecture"])


def build(root: Path = DEFAULT_LAYER_DIR, architecture: Architecture = DEFAULT_ARCHITECTURE) -> Path:
    """Build the layer for ``architecture`` into ``root/<architecture>`` unless it already matches the lock, the shared
    sources and the interpreter; returns that folder (the layer's ``python`` folder is in it)."""
    target = root / architecture
    stamp = target / STAMP
    python = runtime_python()
    fingerprint = _fingerprint(architecture, python[1] if python else None)
    if python is None:
        warnings.warn(
            f"No Python {PYTHON_VERSION} found (PATH, pyenv, uv): the layer in {target} ships no bytecode, so every "
            f"cold start compiles it (about three times as slow). Install one (`uv python install "
            f"{PYTHON_VERSION}` or pyenv) and build again.",
            LayerNotCompiled,
            stacklevel=2,
        )
    if stamp.exists() and json.loads(stamp.read_text()).get("fingerprint") == fingerprint:
        return target
    if target.exists():
        shutil.rmtree(target)
    site = target / "python"
    site.mkdir(parents=True)
    requirements = target / "requirements.txt"
    uv = _uv()
    subprocess.run(  # noqa: S603
        [uv, "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "-o", str(requirements)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    subprocess.run(  # noqa: S603
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--target",
            str(site),
            "--python-platform",
            PLATFORMS[architecture],
            "--python-version",
            PYTHON_VERSION,
            "--only-binary",
            ":all:",
            "-r",
            str(requirements),
        ],
        cwd=ROOT,
        check=True,
    )
    requirements.unlink()
    shutil.copytree(
        ROOT / "shared" / "fortnox_bridge", site / "fortnox_bridge", ignore=shutil.ignore_patterns("__pycache__")
    )
    if python is not None:
        _compile(python[0], site)
    stamp.write_text(
        json.dumps({"fingerprint": fingerprint, "architecture": architecture, "python": python and python[1]})
    )
    return target


def _compile(python: Path, site: Path) -> None:
    """Unchecked-hash bytecode: the asset zip gives every file the same timestamp, so timestamp-checked ``.pyc``
    would never match their sources in Lambda; a layer version never changes, so the source hash need not be checked
    at each import either. ``-d`` names the files where Lambda mounts them, which also keeps the bytecode (and the
    asset hash) the same whatever folder the build ran in."""
    subprocess.run(  # noqa: S603
        [
            str(python),
            "-I",
            "-m",
            "compileall",
            "-q",
            "-j0",
            "--invalidation-mode",
            "unchecked-hash",
            "-d",
            MOUNTED_AT,
            str(site),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )


if __name__ == "__main__":
    # python -m infra.layer [ROOT [ARCHITECTURE]]
    arguments = sys.argv[1:]
    root = Path(arguments[0]) if arguments else DEFAULT_LAYER_DIR
    print(build(root, architecture_named(arguments[1]) if len(arguments) > 1 else DEFAULT_ARCHITECTURE))
