"""Distributed training: detection, the launch command, and the multi-node Kubernetes jobs
(validated against the operators' published CRD schemas and kubernetes-validate)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import REPO, lint_generated, run_cli, tool, write_tree

from dockerize_ml import inspect_project, knowledge, make_plan, render
from dockerize_ml.launch import launched, plan_launch
from dockerize_ml.plan import Settings

SCHEMAS = REPO / "tests" / "schemas"

DDP = """import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


def main() -> None:
    dist.init_process_group("gloo")
    model = DistributedDataParallel(torch.nn.Linear(4, 1))
    print(os.environ["RANK"], model)


if __name__ == "__main__":
    main()
"""

RAY = """import ray
from ray import train


def main() -> None:
    ray.init()
    print(ray.cluster_resources())


if __name__ == "__main__":
    main()
"""

#: Code by sign: (file text, requirements, launcher the detector must name).
SIGNS = {
    "ddp": (DDP, "torch\n", "torchrun"),
    "fsdp": (
        "from torch.distributed.fsdp import FullyShardedDataParallel as FSDP\n"
        "import torch\nmodel = FSDP(torch.nn.Linear(2, 2))\n",
        "torch\n",
        "torchrun",
    ),
    "lightning-ddp": (
        "import lightning as L\ntrainer = L.Trainer(strategy='ddp', devices=2)\n",
        "lightning\n",
        "torchrun",
    ),
    "lightning-deepspeed": (
        "import lightning as L\ntrainer = L.Trainer(strategy='deepspeed_stage_2')\n",
        "lightning\ndeepspeed\n",
        "torchrun",
    ),
    "accelerate": (
        "from accelerate import Accelerator\naccelerator = Accelerator()\n",
        "accelerate\ntorch\n",
        "accelerate",
    ),
    "deepspeed": (
        "import deepspeed\nimport torch\n"
        "engine, *_ = deepspeed.initialize(model=torch.nn.Linear(2, 2))\n",
        "deepspeed\ntorch\n",
        "deepspeed",
    ),
    "ray": (RAY, "ray[default]\n", "ray"),
    "ray-tune": ("from ray.tune import Tuner\nTuner(lambda c: None).fit()\n", "ray\n", "ray"),
}

#: Code that is not distributed, or starts its processes itself.
NOT_DISTRIBUTED = {
    "data-parallel": "import torch\nmodel = torch.nn.DataParallel(torch.nn.Linear(2, 2))\n",
    "ddp-spawn": "import lightning as L\ntrainer = L.Trainer(strategy='ddp_spawn')\n",
    "single-device": "import lightning as L\ntrainer = L.Trainer(strategy='auto')\n",
    "ddp-only-in-tests": "",
}


def project(tmp_path: Path, code: str, requirements: str, name: str = "trainer") -> Path:
    return write_tree(
        tmp_path / name,
        {
            "requirements.txt": requirements,
            "train.py": code + "\nif __name__ == '__main__':\n    pass\n",
            "data/train.csv": "a\n",
            "checkpoints/.gitkeep": "",
        },
    )


@pytest.mark.parametrize("sign", SIGNS)
def test_detected_launcher(tmp_path: Path, sign: str) -> None:
    code, requirements, launcher = SIGNS[sign]
    profile = inspect_project(project(tmp_path, code, requirements))
    assert profile.distributed.launcher == launcher
    first = profile.distributed.evidence[0]
    assert first.path == "train.py" and first.line > 0


@pytest.mark.parametrize("case", NOT_DISTRIBUTED)
def test_not_distributed(tmp_path: Path, case: str) -> None:
    root = project(tmp_path, NOT_DISTRIBUTED[case], "torch\nlightning\n")
    if case == "ddp-only-in-tests":
        write_tree(root, {"tests/test_ddp.py": DDP})
    profile = inspect_project(root)
    assert profile.distributed.launcher == ""
    plan = make_plan(profile, Settings(k8s=True))
    assert plan.launch is None and plan.command == ("python", "train.py")
    assert not [rel for rel in render(plan) if rel.startswith("k8s/") and rel.count("-") > 0]


def test_profile_json_contract(tmp_path: Path) -> None:
    root = project(tmp_path, DDP, "torch\n")
    result = run_cli("detect", "--json", root)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["schema_version"] == 1
    assert data["distributed"]["launcher"] == "torchrun"
    assert data["distributed"]["evidence"][0] == {
        "path": "train.py",
        "line": 9,
        "detail": "calls dist.init_process_group()",
    }


@pytest.mark.parametrize(
    ("launcher", "command", "expected"),
    [
        (
            "torchrun",
            ("python", "train.py", "--epochs", "3"),
            ("torchrun", "train.py", "--epochs", "3"),
        ),
        ("torchrun", ("python", "-m", "pkg.train"), ("torchrun", "-m", "pkg.train")),
        (
            "torchrun",
            ("train-model", "--fast"),
            ("torchrun", "--no-python", "train-model", "--fast"),
        ),
        ("accelerate", ("python", "train.py"), ("accelerate", "launch", "train.py")),
        ("accelerate", ("python", "-m", "pkg"), ("accelerate", "launch", "-m", "pkg")),
        ("accelerate", ("train-model",), ("accelerate", "launch", "--no_python", "train-model")),
        ("deepspeed", ("python", "train.py"), ("deepspeed", "train.py")),
        ("deepspeed", ("python", "-m", "pkg"), ("deepspeed", "--module", "pkg")),
        ("deepspeed", ("train-model",), ("deepspeed", "--no_python", "train-model")),
    ],
)
def test_launch_command(launcher: str, command: tuple[str, ...], expected: tuple[str, ...]) -> None:
    assert launched(launcher, command) == expected


def test_cuda_image_runs_torchrun_one_process_per_gpu(tmp_path: Path) -> None:
    root = project(
        tmp_path, DDP.replace('"gloo"', '"nccl"') + "x = torch.zeros(1).cuda()\n", "torch\n"
    )
    files = render(make_plan(inspect_project(root), Settings()))
    write_tree(root, files)
    lint_generated(root)
    assert 'CMD ["torchrun", "train.py"]' in files["Dockerfile"]
    assert "PET_NPROC_PER_NODE=gpu" in files["Dockerfile"]
    run = files["docker/run.sh"]
    assert 'args+=(--env "PET_NPROC_PER_NODE=$NPROC_PER_NODE")' in run
    assert 'args+=(--shm-size "${SHM_SIZE:-2g}")' in run and "args+=(--gpus all)" in run


def test_cpu_image_leaves_torchrun_at_one_process(tmp_path: Path) -> None:
    root = project(tmp_path, DDP, "torch\n")
    plan = make_plan(inspect_project(root), Settings(device="cpu"))
    assert plan.command == ("torchrun", "train.py")
    assert "PET_NPROC_PER_NODE" not in dict(plan.env)
    assert plan.smoke.kind == "script" and plan.smoke.script == "train.py"


@pytest.mark.parametrize(
    ("launcher_code", "command"),
    [
        ("accelerate", ("accelerate", "launch", "train.py")),
        ("deepspeed", ("deepspeed", "train.py")),
    ],
)
def test_own_launchers(tmp_path: Path, launcher_code: str, command: tuple[str, ...]) -> None:
    code, requirements, _ = SIGNS[launcher_code]
    plan = make_plan(inspect_project(project(tmp_path, code, requirements)), Settings())
    assert plan.command == command
    assert plan.launch is not None and plan.launch.k8s_command == ("torchrun", "train.py")


def test_a_chosen_or_documented_launch_is_kept(tmp_path: Path) -> None:
    root = project(tmp_path, DDP, "torch\n")
    chosen = make_plan(inspect_project(root), Settings(entry=("python", "train.py")))
    assert chosen.command == ("python", "train.py") and chosen.launch is None
    profile = inspect_project(root)
    for command in (
        ("torchrun", "--nproc_per_node", "4", "train.py"),
        ("accelerate", "launch", "t.py"),
    ):
        assert plan_launch(profile, command, False, "cuda") is None
    assert plan_launch(profile, ("python", "train.py"), False, "cuda") is not None


def _validate_crd(doc: dict[str, Any], schema_file: str) -> None:
    schema = json.loads((SCHEMAS / schema_file).read_text())
    jsonschema.validate(doc, schema)


def _kubernetes_validate(root: Path, rel: str) -> None:
    result = subprocess.run(
        [tool("kubernetes-validate"), "--strict", rel],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("device", ["cuda", "cpu"])
def test_torchrun_jobs_validate(tmp_path: Path, device: str) -> None:
    root = project(tmp_path, DDP, "torch\n")
    files = render(make_plan(inspect_project(root), Settings(k8s=True, device=device)))
    write_tree(root, files)
    job = yaml.safe_load(files["k8s/trainer-pytorchjob.yaml"])
    _validate_crd(job, "kubeflow.org_v1_pytorchjob.json")
    assert job["spec"]["nprocPerNode"] == ("gpu" if device == "cuda" else "1")
    replicas = job["spec"]["pytorchReplicaSpecs"]
    assert {r: s["replicas"] for r, s in replicas.items()} == {"Master": 1, "Worker": 1}
    pod = replicas["Worker"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["name"] == "pytorch" and container["command"] == ["torchrun", "train.py"]
    assert container["ports"] == [{"name": "pytorchjob-port", "containerPort": 23456}]
    shm = next(v for v in pod["volumes"] if v["name"] == "dshm")
    assert shm["emptyDir"]["medium"] == "Memory"
    assert {"name": "dshm", "mountPath": "/dev/shm"} in container["volumeMounts"]
    env = {e["name"]: e["value"] for e in container["env"]}
    limits = container["resources"]["limits"]
    if device == "cuda":
        assert limits["nvidia.com/gpu"] == 1 and env["NCCL_SOCKET_IFNAME"] == "eth0"
    else:
        assert "nvidia.com/gpu" not in limits and "NCCL_DEBUG" not in env

    _kubernetes_validate(root, "k8s/trainer-torchrun-job.yaml")
    service, indexed = yaml.safe_load_all(files["k8s/trainer-torchrun-job.yaml"])
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["selector"] == {"job-name": indexed["metadata"]["name"]}
    spec = indexed["spec"]
    assert spec["completionMode"] == "Indexed" and spec["completions"] == spec["parallelism"] == 2
    pod = spec["template"]["spec"]
    assert pod["subdomain"] == service["metadata"]["name"]
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert env["PET_RDZV_BACKEND"] == "c10d" and env["PET_NNODES"] == "2"
    assert env["PET_RDZV_ENDPOINT"] == "trainer-torchrun-0.trainer-torchrun:29400"
    # The single-node manifest is still written beside them.
    _kubernetes_validate(root, "k8s/trainer.yaml")


def test_the_crd_schema_refuses_what_the_operator_would(tmp_path: Path) -> None:
    """The converted schemas are strict: a misspelt field or a wrong type fails them."""
    root = project(tmp_path, DDP, "torch\n")
    files = render(make_plan(inspect_project(root), Settings(k8s=True)))
    job = yaml.safe_load(files["k8s/trainer-pytorchjob.yaml"])
    job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]["comand"] = []
    with pytest.raises(jsonschema.ValidationError, match="comand"):
        _validate_crd(job, "kubeflow.org_v1_pytorchjob.json")
    ray = yaml.safe_load(
        render(
            make_plan(inspect_project(project(tmp_path, RAY, "ray\n", "r")), Settings(k8s=True))
        )["k8s/r-rayjob.yaml"]
    )
    ray["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replicas"] = "two"
    with pytest.raises(jsonschema.ValidationError, match="two"):
        _validate_crd(ray, "ray.io_v1_rayjob.json")


def test_ray_code_gets_a_rayjob(tmp_path: Path) -> None:
    root = project(tmp_path, RAY, "ray[default]\n")
    plan = make_plan(inspect_project(root), Settings(k8s=True))
    assert plan.command == ("python", "train.py"), "ray.init() starts Ray in one container"
    files = render(plan)
    assert "k8s/trainer-pytorchjob.yaml" not in files
    job = yaml.safe_load(files["k8s/trainer-rayjob.yaml"])
    _validate_crd(job, "ray.io_v1_rayjob.json")
    assert job["spec"]["entrypoint"] == "python train.py"
    cluster = job["spec"]["rayClusterSpec"]
    head = cluster["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert {p["containerPort"] for p in head["ports"]} == {6379, 8265, 10001}
    assert cluster["workerGroupSpecs"][0]["replicas"] == 2
    assert "--shm-size" not in files["docker/run.sh"]


def test_every_row_of_the_table_is_a_sign(tmp_path: Path) -> None:
    """knowledge/distributed.toml: each call, module and strategy, alone in a file, makes the
    detector name its row's launcher (or an earlier row's, which the order says wins)."""
    table = knowledge.load("distributed")
    names = [row["name"] for row in table["launchers"]]
    assert names == ["ray", "accelerate", "deepspeed", "mpi", "torchrun"]
    assert set(table) == {"launchers", "lightning"}
    for number, row in enumerate(table["launchers"]):
        assert set(row) == {"name", "calls", "modules", "strategies"}
        samples = [f"x = {call}()\n" for call in row["calls"]]
        samples += [f"import {module}\n" for module in row["modules"]]
        samples += [f"t = Trainer(strategy='{s}_x')\n" for s in row["strategies"]]
        assert samples, f"row {row['name']} has no sign"
        for index, code in enumerate(samples):
            root = write_tree(tmp_path / f"{number}-{index}", {"main.py": code})
            assert inspect_project(root).distributed.launcher == row["name"], code
    for strategy in table["lightning"]["self_launching"]:
        root = write_tree(tmp_path / strategy, {"main.py": f"Trainer(strategy='{strategy}')\n"})
        assert inspect_project(root).distributed.launcher == ""


def test_a_server_using_accelerate_is_served_by_one_process(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "serve",
        {
            "requirements.txt": "fastapi\nuvicorn\naccelerate\n",
            "app.py": "from accelerate import Accelerator\nfrom fastapi import FastAPI\n"
            "app = FastAPI()\naccelerator = Accelerator()\n",
        },
    )
    profile = inspect_project(root)
    assert profile.distributed.launcher == "accelerate"
    plan = make_plan(profile, Settings(k8s=True))
    assert plan.launch is None and plan.command[0] == "uvicorn"
    assert not any("pytorchjob" in rel for rel in render(plan))


def test_no_entry_point_is_not_launched(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "lib", {"requirements.txt": "torch\n", "ddp.py": DDP.partition("\n\nif")[0]}
    )
    plan = make_plan(inspect_project(root), Settings())
    assert plan.launch is None and plan.command == ("python",)


def test_ranks_from_mpi_are_not_launched_with_torchrun(tmp_path: Path) -> None:
    """OpenAI's improved-diffusion takes its rank and world size from mpi4py's COMM_WORLD and
    wraps the model in DDP (the real-world corpus): under torchrun every process would be
    rank 0 of 1 to MPI. The image runs the script as one process; mpiexec is the user's."""
    root = write_tree(
        tmp_path / "diffusion",
        {
            "requirements.txt": "torch\nmpi4py\n",
            "scripts/image_train.py": (
                "import argparse\nfrom mpi4py import MPI\nimport torch.distributed as dist\n"
                "from torch.nn.parallel import DistributedDataParallel as DDP\n"
                "def main():\n    dist.init_process_group('gloo', rank=MPI.COMM_WORLD.Get_rank(),"
                " world_size=MPI.COMM_WORLD.Get_size())\n"
                "if __name__ == '__main__':\n    argparse.ArgumentParser().parse_args()\n    main()\n"
            ),
        },
    )
    profile = inspect_project(root)
    assert profile.distributed.launcher == "mpi"
    plan = make_plan(profile, Settings())
    assert plan.launch is None
    assert plan.command[:2] == ("python", "scripts/image_train.py"), plan.command
