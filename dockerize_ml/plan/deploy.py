"""The plan's decisions for where the image goes after it is built: the CI files' paths in
the repository (a monorepo's project names its image, workflow and triggers), the Kubernetes
workload and its sizes, /dev/shm for a distributed launcher, JupyterLab's port. The templates
print these fields; they do not decide them."""

from __future__ import annotations

import math

from dockerize_ml.launch import Launch
from dockerize_ml.names import GITHUB_WORKFLOWS
from dockerize_ml.plan.types import SHM_GIB, CiPaths, Context, KubePlan, PodResources, SmokePlan
from dockerize_ml.profile import ProjectProfile


def ci_paths(name: str, repo_path: str, context: Context | None) -> CiPaths:
    """The project's place in its repository, as every CI file names it."""
    dockerfile = f"{repo_path}/Dockerfile" if context else ""
    build_context = "." if context else repo_path
    if repo_path == ".":
        return CiPaths(build_context=build_context, dockerfile=dockerfile)
    folders = context.folders if context else ()
    return CiPaths(
        image_suffix=f"/{name}",
        workflow_name=f"docker-{name}",
        workflow_file=f"{GITHUB_WORKFLOWS}/docker-{name}.yml",
        up="../" * (repo_path.count("/") + 1),
        watched=(f"{repo_path}/**", *(f"{inside}/**" for _, inside, _ in folders)),
        build_context=build_context,
        dockerfile=dockerfile,
        smoke_script=f"{repo_path}/docker/smoke.sh",
    )


def kube(smoke: SmokePlan, gpus: bool) -> KubePlan:
    """Deployment or Job, and the sizes: a modest pod (the user raises them for a big
    model), one GPU per pod (per machine) for a CUDA image."""
    gpu = 1 if gpus else 0
    return KubePlan(
        workload="Deployment" if smoke.kind == "server" else "Job",
        pod=PodResources("500m", "1Gi", "4Gi", gpu),
        machine=PodResources("1", "2Gi", "8Gi", gpu),
        startup_failures=math.ceil(smoke.wait / KubePlan.startup_period),
    )


def shm_size(launch: Launch | None) -> str:
    """A larger /dev/shm for a launcher that starts several processes on one machine (Ray
    runs its own object store, sized by Ray)."""
    return f"{SHM_GIB}g" if launch is not None and launch.launcher != "ray" else ""


def jupyter_port(profile: ProjectProfile, jupyter: bool) -> int:
    """JupyterLab's port, as its detected command has it (knowledge/frameworks.toml)."""
    entry = profile.entrypoint
    return entry.port if jupyter and entry is not None else 0
