"""The decisions the templates used to make, now fields of the plan (issue 17, item 5): each
is checked here, where it is computed, and in the file that prints it."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import yaml
from conftest import SAMPLE_DIRS, write_tree

from dockerize_ml import inspect_project, knowledge, make_plan, render
from dockerize_ml.plan import Settings
from dockerize_ml.plan.deploy import ci_paths, kube
from dockerize_ml.plan.types import SHM_GIB, CiPaths, Context, KubePlan, SmokePlan
from dockerize_ml.platforms import PlatformPlan, known


def _project(root: Path) -> Path:
    return write_tree(
        root, {"requirements.txt": "numpy\n", "main.py": "if __name__ == '__main__':\n    pass\n"}
    )


def test_ci_paths_at_the_repository_root() -> None:
    paths = ci_paths("scorer", ".", None)
    assert paths == CiPaths()
    assert paths.image_suffix == "" and paths.up == "" and paths.watched == ()
    assert paths.build_context == "." and paths.dockerfile == ""
    assert paths.workflow_file == ".github/workflows/docker.yml"


def test_ci_paths_of_a_monorepo_project_with_a_sibling_folder() -> None:
    context = Context("../..", "services/scorer/", (("../../libs/common", "libs/common", "/x"),))
    paths = ci_paths("scorer", "services/scorer", context)
    assert paths.image_suffix == "/scorer"
    assert paths.workflow_name == "docker-scorer"
    assert paths.workflow_file == ".github/workflows/docker-scorer.yml"
    assert paths.up == "../../"
    assert paths.watched == ("services/scorer/**", "libs/common/**")
    # Built from the repository root, so that the sibling folder is in the context.
    assert paths.build_context == "."
    assert paths.dockerfile == "services/scorer/Dockerfile"
    assert paths.smoke_script == "services/scorer/docker/smoke.sh"


def test_the_ci_files_print_the_plans_paths(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    profile = inspect_project(_project(repo / "apps" / "scorer"))
    profile = dataclasses.replace(profile, repository_root=str(repo))
    plan = make_plan(profile, Settings(ci=("github", "gitlab")))
    assert plan.ci_paths == ci_paths(profile.name, "apps/scorer", None)
    files = render(plan)
    workflow = files[f"../../{plan.ci_paths.workflow_file}"]
    data = yaml.safe_load(workflow)
    assert data["name"] == "docker-scorer"
    assert data[True]["push"]["paths"] == ["apps/scorer/**"]  # YAML 1.1 reads `on` as True
    assert data["env"]["IMAGE"].endswith("/scorer")
    gitlab = yaml.safe_load(files["../../.gitlab-ci.yml"])
    assert gitlab["variables"]["IMAGE"] == "$CI_REGISTRY_IMAGE/scorer"
    assert "bash apps/scorer/docker/smoke.sh" in gitlab["smoke-test"]["script"][-1]
    assert gitlab["build"]["script"][1].endswith('--tag "$CANDIDATE" apps/scorer')
    build = next(s for s in data["jobs"]["image"]["steps"] if s.get("name", "").startswith("Build"))
    assert build["with"]["context"] == "apps/scorer" and "file" not in build["with"]
    assert f"`{plan.ci_paths.workflow_file}`" in files["docker/README.md"]


@pytest.mark.parametrize(("kind", "workload"), [("server", "Deployment"), ("script", "Job")])
def test_kube_workload_follows_the_smoke_plan(kind: str, workload: str) -> None:
    assert kube(SmokePlan((), kind), gpus=False).workload == workload


def test_kube_sizes_gpus_and_startup_budget() -> None:
    cpu = kube(SmokePlan((), "server", wait=61), gpus=False)
    assert cpu.pod.gpus == cpu.machine.gpus == 0
    assert cpu.startup_failures == math.ceil(61 / KubePlan.startup_period) == 13
    gpu = kube(SmokePlan((), "server"), gpus=True)
    assert gpu.pod.gpus == gpu.machine.gpus == 1
    assert gpu.shm_size == f"{SHM_GIB}Gi"


@pytest.mark.parametrize(
    ("sample", "workload"), [("flask-scores", "Deployment"), ("churn-model", "Job")]
)
def test_k8s_manifest_prints_the_kube_plan(sample: str, workload: str) -> None:
    plan = make_plan(inspect_project(SAMPLE_DIRS[sample]), Settings(k8s=True))
    assert plan.kube.workload == workload
    docs = list(yaml.safe_load_all(render(plan)[f"k8s/{plan.project_name}.yaml"]))
    kinds = [d["kind"] for d in docs if d]
    assert workload in kinds
    pod = next(d for d in docs if d and d["kind"] == workload)["spec"]["template"]["spec"]
    resources = pod["containers"][0]["resources"]
    assert resources["requests"] == {"cpu": plan.kube.pod.cpu, "memory": plan.kube.pod.memory}
    assert resources["limits"] == {"memory": plan.kube.pod.memory_limit}
    if workload == "Deployment":
        startup = pod["containers"][0]["startupProbe"]
        assert startup["failureThreshold"] == plan.kube.startup_failures
        assert startup["periodSeconds"] == plan.kube.startup_period
    else:
        assert pod["restartPolicy"] == "Never"


@pytest.mark.parametrize(
    ("installer", "buildkit", "pinned"),
    # With BuildKit, uv is mounted from its image for each install, not installed.
    [("uv", False, True), ("uv", True, False), ("pip", False, False)],
)
def test_setup_installs_uv_follows_the_setup_commands(
    installer: str, buildkit: bool, pinned: bool
) -> None:
    settings = Settings(installer=installer, buildkit=buildkit)
    plan = make_plan(inspect_project(SAMPLE_DIRS["flask-scores"]), settings)
    assert plan.setup_installs_uv is pinned
    assert plan.setup_installs_uv == any("uv==" in c for c in plan.setup_commands)
    assert ("# - uv, pinned:" in render(plan)["Dockerfile"]) is pinned


def test_jupyter_port_comes_from_the_server_table() -> None:
    port = knowledge.load("frameworks")["servers"]["jupyterlab"]["port"]
    profile = inspect_project(SAMPLE_DIRS["notebook-course"])
    assert profile.entrypoint is not None
    assert f"--port={port}" in profile.entrypoint.command
    plan = make_plan(profile, Settings())
    assert plan.jupyter and plan.jupyter_port == port
    assert f"JupyterLab on port {port} " in render(plan)["docker/README.md"]
    # An entry of the user's own: no JupyterLab, no port for it.
    assert make_plan(profile, Settings(entry=("python", "main.py"))).jupyter_port == 0


def test_shm_size_for_a_distributed_launcher_only() -> None:
    plan = make_plan(inspect_project(SAMPLE_DIRS["ddp-trainer"]), Settings(devcontainer=True))
    assert plan.launch is not None and plan.launch.launcher != "ray"
    assert plan.shm_size == f"{SHM_GIB}g"
    files = render(plan)
    assert f'--shm-size "${{SHM_SIZE:-{plan.shm_size}}}"' in files["docker/run.sh"]
    assert f'"--shm-size", "{plan.shm_size}"' in files[".devcontainer/devcontainer.json"].replace(
        ",\n    ", ", "
    )
    single = make_plan(inspect_project(SAMPLE_DIRS["flask-scores"]), Settings())
    assert single.shm_size == ""
    assert "--shm-size" not in render(single)["docker/run.sh"]


def test_setup_makes_venv_unless_a_builder_stage_does() -> None:
    plan = make_plan(inspect_project(SAMPLE_DIRS["flask-scores"]), Settings())
    assert plan.install.make_venv and not plan.builder_packages and plan.setup_makes_venv
    assert "# - a virtualenv for the project's packages" in render(plan)["Dockerfile"]
    built = dataclasses.replace(plan, builder_packages=(("gcc", "compiles"),))
    assert not built.setup_makes_venv


def test_emulated_platforms_are_the_qemu_ones() -> None:
    amd, arm = known()["linux/amd64"], known()["linux/arm64"]
    assert not amd.qemu and arm.qemu
    assert PlatformPlan(built=(amd, arm)).emulated == (arm,)
    assert PlatformPlan(built=(amd,)).emulated == ()
