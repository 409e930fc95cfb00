"""The layer as Lambda loads it: compiled for the runtime's Python, native code for the functions' architecture; and
function assets that do not change with local runs."""

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

import infra.layer
from infra.layer import STAMP, Architecture, LayerNotCompiled, build, host_architecture, runtime_python
from infra.names import FUNCTIONS_DIR, STACK_NAME

ELF_MACHINES = {"x86_64": 0x3E, "arm64": 0xB7}
"""``e_machine`` of an ELF header: EM_X86_64 and EM_AARCH64."""
UNCHECKED_HASH_FLAGS = 0b01
"""A ``.pyc`` header's flags word (PEP 552): hash-based, source not checked."""
RUNTIME_PYTHON = runtime_python()
needs_runtime_python = pytest.mark.skipif(
    RUNTIME_PYTHON is None, reason="no Python 3.12 on this machine (PATH, pyenv, uv): the layer is built uncompiled"
)


@pytest.fixture(scope="module")
def layer_for(layer_dir: Path) -> Callable[[Architecture], Path]:
    """A layer per architecture beside the session's (``layer_dir`` is ``<root>/<architecture>``)."""
    return lambda architecture: build(layer_dir.parent, architecture)


def _elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", f"{path} is not an ELF file"
    return int.from_bytes(header[18:20], "little")


@needs_runtime_python
def test_every_module_of_fortnox_bridge_ships_bytecode_for_the_runtime_python(layer_dir: Path) -> None:
    package = layer_dir / "python" / "fortnox_bridge"
    sources = sorted(package.rglob("*.py"))
    assert len(sources) > 50
    for source in sources:
        compiled = source.parent / "__pycache__" / f"{source.stem}.cpython-312.pyc"
        assert compiled.exists(), f"{source.relative_to(package)} has no bytecode for CPython 3.12"
        # Lambda's files all carry the zip's timestamp: only hash-based bytecode stays valid there.
        assert int.from_bytes(compiled.read_bytes()[4:8], "little") == UNCHECKED_HASH_FLAGS


@needs_runtime_python
def test_the_layer_imports_on_the_runtime_python_from_its_bytecode_alone(
    layer_for: Callable[[Architecture], Path],
) -> None:
    """As in Lambda: ``python -S`` with only the layer on the path, bytecode written nowhere (``/opt`` is read-only):
    a ``.pyc`` the runtime rejected would be compiled again and rewritten, which the file listing would show."""
    assert RUNTIME_PYTHON is not None
    site = layer_for(host_architecture()) / "python"
    before = {path: path.stat().st_mtime_ns for path in site.rglob("*")}
    script = (
        "import sys, json, pkgutil, importlib; sys.path[:] = [sys.argv[1], *sys.path[1:]]; import fortnox_bridge;"
        "[importlib.import_module(m.name) for m in pkgutil.walk_packages(fortnox_bridge.__path__, 'fortnox_bridge.')];"
        "import pydantic_core, boto3, aws_lambda_powertools, httpx, cryptography.hazmat.bindings._rust;"
        "print(json.dumps(sorted(m.__file__ for m in list(sys.modules.values()) if getattr(m, '__file__', None)"
        " and not m.__file__.startswith(sys.argv[1]))))"
    )
    answer = subprocess.run(
        [str(RUNTIME_PYTHON[0]), "-S", "-c", script, str(site)],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert answer.returncode == 0, answer.stderr[-3000:]
    outside = [path for path in json.loads(answer.stdout) if "/lib/python3.12/" not in path]
    assert outside == [], "modules came from outside the layer and the standard library"
    assert {path: path.stat().st_mtime_ns for path in site.rglob("*")} == before


@needs_runtime_python
def test_without_python_312_the_layer_is_built_uncompiled_says_so_and_compiles_once_one_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = RUNTIME_PYTHON
    monkeypatch.setattr(infra.layer, "runtime_python", lambda: None)
    with pytest.warns(LayerNotCompiled, match="No Python 3.12 found"):
        target = build(tmp_path, host_architecture())
    assert (target / "python" / "fortnox_bridge" / "wiring.py").exists()
    assert not list(target.rglob("*.pyc"))
    assert json.loads((target / STAMP).read_text())["python"] is None

    unchanged = target / "python" / "not-rebuilt"
    unchanged.touch()
    with pytest.warns(LayerNotCompiled):
        build(tmp_path, host_architecture())
    assert unchanged.exists()

    monkeypatch.setattr(infra.layer, "runtime_python", lambda: found)
    build(tmp_path, host_architecture())
    assert not unchanged.exists()
    assert (target / "python" / "fortnox_bridge" / "__pycache__" / "wiring.cpython-312.pyc").exists()


@pytest.mark.parametrize("architecture", ["arm64", "x86_64"])
def test_native_code_is_built_for_the_architecture(
    layer_for: Callable[[Architecture], Path], architecture: Architecture
) -> None:
    site = layer_for(architecture) / "python"
    [pydantic_core] = site.glob("pydantic_core/_pydantic_core.cpython-312-*-linux-gnu.so")
    native = [pydantic_core, *site.glob("cryptography/hazmat/bindings/*.so"), *site.glob("_cffi_backend*.so")]
    assert len(native) == 3
    assert {path.name: _elf_machine(path) for path in native} == {
        path.name: ELF_MACHINES[architecture] for path in native
    }


@pytest.mark.parametrize("architecture", ["arm64", "x86_64"])
def test_every_function_and_the_layer_declare_the_architecture_setting(
    layer_for: Callable[[Architecture], Path], architecture: Architecture, tmp_path: Path
) -> None:
    from infra.app import build_app

    context = {"fortnox_client_id": "layer-test", "architecture": architecture}
    app = build_app(layer_dir=layer_for(architecture), outdir=tmp_path, context=context)
    resources = app.synth().get_stack_by_name(STACK_NAME).template["Resources"].values()
    functions = [resource for resource in resources if resource["Type"] == "AWS::Lambda::Function"]
    # CDK's own helper functions (log retention, custom resources) are not ours: ours carry their source folder.
    ours = [function for function in functions if "FortnoxBridge:Source" in function.get("Metadata", {})]
    assert len(ours) >= 10
    assert {json.dumps(function["Properties"].get("Architectures")) for function in ours} == {
        json.dumps([architecture])
    }
    [layer] = [resource for resource in resources if resource["Type"] == "AWS::Lambda::LayerVersion"]
    assert layer["Properties"]["CompatibleArchitectures"] == [architecture]


def test_a_layer_built_for_another_architecture_stops_the_synth(
    layer_for: Callable[[Architecture], Path], tmp_path: Path
) -> None:
    from infra.app import build_app

    with pytest.raises(ValueError, match="built for x86_64, the stack deploys arm64"):
        build_app(
            layer_dir=layer_for("x86_64"),
            outdir=tmp_path,
            context={"fortnox_client_id": "layer-test", "architecture": "arm64"},
        )


def test_a_function_asset_is_the_same_with_or_without_local_bytecode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import infra.constructs.bridge_function as bridge_function

    functions = tmp_path / "functions"
    shutil.copytree(FUNCTIONS_DIR / "tenant_probe", functions / "tenant_probe", ignore=shutil.ignore_patterns("*.pyc"))
    monkeypatch.setattr(bridge_function, "FUNCTIONS_DIR", functions)

    def asset_key(run: str) -> str:
        app = cdk.App(outdir=str(tmp_path / run))
        stack = cdk.Stack(app, "Assets")
        layer = lambda_.LayerVersion.from_layer_version_arn(
            stack, "Layer", "arn:aws:lambda:eu-north-1:123456789012:layer:shared:1"
        )
        bridge_function.BridgeFunction(
            stack,
            "Probe",
            source="tenant_probe",
            layer=layer,
            environment={},
            service_name="tenant-probe",
            timeout_seconds=60,
        )
        template = app.synth().get_stack_by_name("Assets").template
        [function] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
        key: str = function["Properties"]["Code"]["S3Key"]
        return key

    clean = asset_key("clean")
    cache = functions / "tenant_probe" / "__pycache__"
    cache.mkdir()
    (cache / "handler.cpython-311.pyc").write_bytes(b"local bytecode")
    (functions / "tenant_probe" / "stray.pyc").write_bytes(b"older bytecode")
    assert asset_key("after a local run") == clean
    with (functions / "tenant_probe" / "handler.py").open("a") as handler:
        handler.write("\n# a real change\n")
    assert asset_key("after an edit") != clean
