"""Every knowledge table is well-formed and used by the code."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from dockerize_ml import knowledge

PACKAGE = Path(knowledge.__file__).resolve().parent.parent


@pytest.mark.parametrize("name", knowledge.TABLES)
def test_every_table_is_used_by_the_code(name: str) -> None:
    sources = "\n".join(p.read_text() for p in PACKAGE.rglob("*.py") if "knowledge" not in p.parts)
    assert f'knowledge.load("{name}")' in sources


def test_every_toml_file_is_a_declared_table() -> None:
    files = {p.stem for p in (PACKAGE / "knowledge").glob("*.toml")}
    assert files == set(knowledge.TABLES)


def test_python_versions() -> None:
    table = knowledge.load("python")
    versions = table["versions"]
    assert all(re.fullmatch(r"3\.\d+", v) for v in versions)
    assert versions == sorted(versions, key=Version), "versions are listed oldest first"
    assert len(set(versions)) == len(versions)
    assert table["preferred_max"] in versions
    assert table["default"] in versions
    assert Version(table["default"]) <= Version(table["preferred_max"])


def test_layout_lists() -> None:
    table = knowledge.load("layout")
    lists = [*table["skip"].values(), table["entrypoints"]["scripts"], *table["context"].values()]
    for items in lists:
        assert items, "no empty lists"
        assert all(isinstance(i, str) and i and i == i.strip() for i in items)
        assert len(set(items)) == len(items), f"duplicates in {items}"
    assert all(s.endswith(".py") for s in table["entrypoints"]["scripts"])
    for pattern in table["context"]["weight_patterns"]:
        # a name pattern (matched at any depth), never a path
        assert re.fullmatch(r"\*[-a-z0-9.?*]+", pattern) and "/" not in pattern, pattern
    assert 1024 * 1024 <= table["mounts"]["weights_above"] <= 50 * 1024 * 1024
    placeholders = table["mounts"]["placeholders"]
    assert placeholders and all(re.fullmatch(r"\.[a-z]+", name) for name in placeholders)
    for items in table["writes"].values():
        assert items and len(set(items)) == len(items)
        assert all(re.fullmatch(r"[a-z_][a-z0-9_.]*", i) for i in items), items
    for folder in (*table["context"]["data_dirs"], *table["context"]["output_dirs"]):
        assert "/" not in folder and "*" not in folder


def test_devtools_rows() -> None:
    table = knowledge.load("devtools")
    rows = {**table["tools"], **table["notebook"]}
    assert not set(table["tools"]) & set(table["notebook"])
    for name, why in rows.items():
        assert name == canonicalize_name(name), f"{name} is not a PEP 503 name"
        assert isinstance(why, str) and why.strip(), name
    for wrong, real in table["replaced"].items():
        assert real == canonicalize_name(real) and real != wrong and real not in rows


def test_frameworks_rows() -> None:
    rows = knowledge.load("frameworks")["frameworks"]
    assert len(rows) >= 15
    for name, row in rows.items():
        assert name == canonicalize_name(name), f"{name} is not a PEP 503 name"
        assert set(row) == {"heavy"}, name
        assert isinstance(row["heavy"], bool), name


def test_stable_rows() -> None:
    table = knowledge.load("frameworks")
    assert len(table["stable"]) >= 10
    for name, why in table["stable"].items():
        assert name == canonicalize_name(name), f"{name} is not a PEP 503 name"
        assert isinstance(why, str) and why.strip(), name
        # the heavy frameworks have a layer of their own already
        assert not table["frameworks"].get(name, {}).get("heavy"), name
    code = (PACKAGE / "install" / "layers.py").read_text()
    assert 'table["stable"]' in code


def test_server_rows() -> None:
    rows = knowledge.load("frameworks")["servers"]
    code = "".join(f.read_text() for f in (PACKAGE / "detect" / "servers").glob("*.py"))
    for kind, row in rows.items():
        assert set(row) == {"port", "health", "requires"}, kind
        assert isinstance(row["port"], int) and 0 < row["port"] < 65536, kind
        assert row["health"].startswith("/"), kind
        assert all(r == canonicalize_name(r) for r in row["requires"]), kind
        used = (f'server_row("{kind}")', f'on_defaults("{kind}"')
        assert any(u in code for u in used), f"{kind} unused"


def test_tools_pins() -> None:
    uv = knowledge.load("tools")["uv"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", uv["version"])


def test_unknown_table() -> None:
    with pytest.raises(KeyError):
        knowledge.load("nope")


def test_import_rows() -> None:
    rows = knowledge.load("imports")["imports"]
    assert len(rows) >= 300, "hundreds of rows for the ML, data and web ecosystem"
    for module, dist in rows.items():
        assert re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*", module), module
        candidates = [dist] if isinstance(dist, str) else dist
        assert candidates and all(
            isinstance(c, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", c)
            for c in candidates
        ), module
    for module in ("sklearn", "cv2", "PIL", "yaml", "skimage", "attr", "bs4", "dateutil"):
        assert module in rows
    assert any(k.startswith("google.cloud.") for k in rows)
    assert any(k.startswith("azure.") for k in rows)


def test_pipreqs_pin_and_differences() -> None:
    """The pinned pipreqs release and the deliberate differences from its mapping (checked
    against the real file by tests/test_knowledge_pypi.py): each with a reason, none for an
    import whose row agrees, the standard-library ones really standard."""
    table = knowledge.load("imports")
    pin = table["pipreqs"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", pin["version"])
    assert re.fullmatch(r"[0-9a-f]{64}", pin["sha256"])
    assert len(pin["differences"]) >= 10
    for module, why in pin["differences"].items():
        assert isinstance(why, str) and why.strip() == why and len(why) > 10, module
        if why.startswith("standard library"):
            assert module in sys.stdlib_module_names, module
        if why.startswith("not a module name"):
            assert not re.fullmatch(r"[A-Za-z_]\w*", module), module
    assert "google" not in table["imports"] and "azure" not in table["imports"]


def test_system_rows() -> None:
    table = knowledge.load("system")
    debian = re.compile(r"[a-z0-9][a-z0-9.+-]+")
    for dist, row in table["distributions"].items():
        assert dist == canonicalize_name(dist), dist
        assert set(row) <= {"run", "build"} and row, dist
        assert all(debian.fullmatch(p) for stage in row.values() for p in stage), dist
    for program, package in table["programs"].items():
        assert re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", program), program
        assert package == "" or debian.fullmatch(package), program


def test_machine_id_rows() -> None:
    for dist, row in knowledge.load("system")["machine_id"].items():
        assert dist == canonicalize_name(dist), dist
        assert set(row) == {"versions", "fixed_on", "file", "sign", "why"}, dist
        SpecifierSet(row["versions"])
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["fixed_on"]), dist
        assert row["file"].endswith(".py") and row["why"].startswith(dist), dist


def test_conda_rows() -> None:
    table = knowledge.load("conda")
    names = [*table["same_name"], *table["renamed"], *table["conda_only"]["names"]]
    assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", n) for n in names)
    assert set(table["conda_only"]["cuda_hints"]) <= set(table["conda_only"]["names"])
    assert "python" in table["ignored"]


def test_python_stdlib_deltas() -> None:
    table = knowledge.load("python")
    for section in ("stdlib_added", "stdlib_removed"):
        for module, version in table[section].items():
            assert re.fullmatch(r"[a-z_][a-z0-9_]*", module) and re.fullmatch(r"\d+\.\d+", version)


def test_tools_editable_requires_and_exporters() -> None:
    tools = knowledge.load("tools")
    for name in ("poetry", "pdm", "pipenv"):
        assert re.fullmatch(r"\d+(\.\d+)+", tools[name]["version"])
    assert ":" in tools["micromamba"]["image"] and not tools["micromamba"]["image"].endswith(
        ":latest"
    )
    assert all(isinstance(v, list) for v in tools["editable_requires"].values())


def test_cuda_rows() -> None:
    table = knowledge.load("cuda")
    version = re.compile(r"\d+\.\d+")
    minors = sorted(table["torch"], key=Version)
    for minor in minors:
        row = table["torch"][minor]
        assert set(row) == {"torchvision", "torchaudio", "cuda", "pypi_cuda"}, minor
        assert version.fullmatch(row["torchvision"]) and version.fullmatch(row["torchaudio"])
        assert row["pypi_cuda"] in row["cuda"], minor
        for cuda in row["cuda"]:
            assert version.fullmatch(cuda) and cuda.split(".")[0] in table["driver"], (minor, cuda)
    # torchvision follows torch by 0.15 + (minor - 2.0): a typo shows up here.
    for minor in minors:
        assert Version(table["torch"][minor]["torchvision"]).minor == Version(minor).minor + 15
    for driver in table["driver"].values():
        assert re.fullmatch(r"\d+\.\d+\.\d+", driver)
    for tf, row in table["tensorflow"].items():
        assert (
            version.fullmatch(tf)
            and version.fullmatch(row["cuda"])
            and version.fullmatch(row["cudnn"])
        )
    for tf, row in table["tensorflow"].items():
        # From 2.14 on tensorflow[and-cuda] brings CUDA; before, an nvidia/cuda cudnn image.
        if Version(tf) >= Version("2.14"):
            assert set(row) == {"cuda", "cudnn", "and_cuda"} and row["and_cuda"] is True, tf
        else:
            assert set(row) == {"cuda", "cudnn", "image", "python"}, tf
            cudnn_major = row["cudnn"].split(".")[0]
            assert re.fullmatch(
                rf"nvidia/cuda:{re.escape(row['cuda'])}\.\d+-cudnn{cudnn_major}-runtime-ubuntu\d\d\.04",
                row["image"],
            ), tf
            assert version.fullmatch(row["python"]), tf


def test_cuda_devel_images_and_architectures() -> None:
    table = knowledge.load("cuda")
    images = table["devel"]["images"]
    assert re.fullmatch(r"ubuntu\d\d\.04", table["devel"]["os"])
    for minor, full in images.items():
        assert re.fullmatch(r"\d+\.\d+", minor) and full.startswith(minor + "."), minor
        assert re.fullmatch(r"\d+\.\d+\.\d+", full)
    # every CUDA a torch wheel on PyPI carries has a devel image to compile against
    for row in table["torch"].values():
        assert row["pypi_cuda"] in images, row
    arch = re.compile(r"\d+\.\d+")
    for minor, archs in table["arch_list"].items():
        assert arch.fullmatch(minor)
        items = archs.split()
        assert items[-1].endswith("+PTX"), "newer GPUs JIT-compile the PTX"
        numbers = [Version(a.removesuffix("+PTX")) for a in items]
        assert numbers == sorted(numbers) and all(arch.fullmatch(str(n)) for n in numbers)


def test_cuda_compile_rows() -> None:
    rows = knowledge.load("cuda")["compile"]
    assert len(rows) >= 10
    for name, row in rows.items():
        assert name == canonicalize_name(name), name
        assert (
            {"always", "url", "why", "env"}
            <= set(row)
            <= {
                "always",
                "url",
                "why",
                "env",
                "wheels",
            }
        ), name
        assert isinstance(row["always"], bool) and row["why"] and row["why"] == row["why"].strip()
        assert re.fullmatch(r"github\.com/[\w.-]+/[\w.-]+", row["url"]), name
        for key, value in row["env"].items():
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*", key) and isinstance(value, str), name


def test_python_wheel_limits() -> None:
    """Rows are [first, last, oldest, newest], in release order, not overlapping, with
    Pythons the choice can land on; the end-of-life versions have no official updates."""
    table = knowledge.load("python")
    every = {*table["versions"], *table["end_of_life"]}
    assert not set(table["end_of_life"]) & set(table["versions"])
    for name, rows in table["wheels"].items():
        assert name == canonicalize_name(name)
        previous = None
        for first, last, oldest, newest in rows:
            assert Version(first) <= Version(last), (name, first)
            assert previous is None or Version(first) > previous, (name, first)
            previous = Version(last)
            assert oldest in every and newest in every, (name, first)
            assert Version(oldest) <= Version(newest), (name, first)


@pytest.mark.parametrize(
    ("requirement", "vendors_libgomp"), [("scikit-learn==1.5.2", True), ("lightgbm==4.5.0", False)]
)
def test_openmp_rows_match_the_real_wheels(
    tmp_path: Path, requirement: str, vendors_libgomp: bool
) -> None:
    """The libgomp1 rows of system.toml, checked against the manylinux wheels from PyPI."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--python-version",
            "3.11",
            "--platform",
            "manylinux_2_28_x86_64",
            "--platform",
            "manylinux2014_x86_64",
            "--quiet",
            "--dest",
            str(tmp_path),
            requirement,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if done.returncode != 0:
        pytest.fail(f"PyPI not reachable: {done.stderr.strip().splitlines()[-1:]}")
    wheel = next(tmp_path.glob("*.whl"))
    archive = zipfile.ZipFile(wheel)
    names = archive.namelist()
    assert any("libgomp" in n for n in names) == vendors_libgomp, wheel.name
    # What the wheel's own compiled modules load: the system's libgomp.so.1 (from libgomp1)
    # where the wheel vendors none, a renamed copy of its own otherwise.
    needed = _needed_libraries(archive, tmp_path)
    assert ("libgomp.so.1" in needed) == (not vendors_libgomp), (wheel.name, sorted(needed))
    name = requirement.split("==", maxsplit=1)[0]
    row = knowledge.load("system")["distributions"].get(name, {})
    assert ("libgomp1" in row.get("run", [])) == (not vendors_libgomp)


def test_targets_rows() -> None:
    table = knowledge.load("targets")
    assert set(table) == {"platforms", "port", "outputs"}
    for name, row in table["platforms"].items():
        assert re.fullmatch(r"[a-z]+", name), name
        assert set(row) == {"run_command"}, name
        assert isinstance(row["run_command"], bool), name
    assert table["port"]["default"] == 8080  # SageMaker's fixed port: not a preference
    for items in (*table["port"].values(), *table["outputs"].values()):
        if isinstance(items, int):
            continue
        assert items and len(set(items)) == len(items), items
        assert all(isinstance(i, str) and i == i.strip() and " " not in i for i in items)
    assert all(
        o.startswith("-") for o in (*table["port"]["options"], *table["port"]["bind_options"])
    )
    assert not set(table["outputs"]["checkpoints"]) & set(table["outputs"]["tensorboard"])


def _needed_libraries(archive: zipfile.ZipFile, folder: Path) -> set[str]:
    """The shared libraries (ELF ``NEEDED``) that a wheel's compiled files load."""
    readelf = shutil.which("readelf")
    if readelf is None:
        pytest.skip("readelf (binutils) is not installed")
    needed: set[str] = set()
    for name in archive.namelist():
        if not re.search(r"\.so(\.|$)", name):
            continue
        path = Path(archive.extract(name, folder / "unpacked"))
        done = subprocess.run(
            [readelf, "-d", str(path)], capture_output=True, text=True, check=True
        )
        out = done.stdout
        needed |= set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out))
    return needed
