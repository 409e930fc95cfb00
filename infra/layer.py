"""Build the Lambda layer without Docker: manylinux wheels for the Lambda runtime, plus our shared package.

``uv export`` reads the lock, so the layer carries exactly the versions the tests ran with.
"""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from infra.names import DEFAULT_LAYER_DIR, ROOT

PLATFORM = "x86_64-manylinux2014"
PYTHON_VERSION = "3.12"


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update((ROOT / "uv.lock").read_bytes())
    for path in sorted((ROOT / "shared" / "fortnox_bridge").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def build(target: Path = DEFAULT_LAYER_DIR) -> Path:
    """Build the layer into ``target`` unless it already matches the lock and the shared sources."""
    stamp = target / ".fingerprint"
    fingerprint = _fingerprint()
    if stamp.exists() and stamp.read_text() == fingerprint:
        return target
    if target.exists():
        shutil.rmtree(target)
    site = target / "python"
    site.mkdir(parents=True)
    requirements = target.parent / "layer-requirements.txt"
    uv = os.environ.get("UV") or shutil.which("uv") or "uv"
    subprocess.run(  # noqa: S603 - fixed arguments, no shell
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
            PLATFORM,
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
    shutil.copytree(
        ROOT / "shared" / "fortnox_bridge", site / "fortnox_bridge", ignore=shutil.ignore_patterns("__pycache__")
    )
    stamp.write_text(fingerprint)
    return target


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_LAYER_DIR))
