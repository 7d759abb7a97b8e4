"""How code that trains as several processes is started: the launcher's command in the
image and in docker/run.sh, and the multi-node jobs of ``--k8s``.

Decisions only (the plan calls :func:`plan_launch`); the templates format them.

- torchrun starts one process per GPU of the machine: the image sets
  ``PET_NPROC_PER_NODE=gpu`` (torchrun reads each of its options from ``PET_<OPTION>``), so
  the count is the GPUs present at run time, and a Kubernetes operator or the run script can
  override it without changing the command.
- ``accelerate launch`` and ``deepspeed`` count the GPUs themselves.
- On Kubernetes every launcher but Ray is started as torchrun: Accelerate and DeepSpeed read
  the rank, world size and rendezvous from torchrun's environment, and torchrun is what the
  Training Operator and a c10d rendezvous speak. Ray code runs on a Ray cluster (KubeRay).
"""

from __future__ import annotations

from dataclasses import dataclass

from dockerize_ml.profile import ProjectProfile

#: Programs that already launch several processes: a command starting with one is kept.
_LAUNCHERS = ("torchrun", "accelerate", "deepspeed", "ray")
#: The port torchrun's c10d rendezvous listens on (its documented default).
RDZV_PORT = 29400
#: How many machines the Kubernetes jobs ask for; edit the manifests to change it.
NODES = 2


@dataclass(frozen=True)
class Launch:
    """The distributed launch of the entry point."""

    launcher: str  # torchrun, accelerate, deepspeed or ray
    #: Where the code asks for it (evidence, as text).
    why: str
    #: The command the image runs (the entry point under its launcher).
    command: tuple[str, ...]
    #: The entry point as one process runs it (Ray's job entrypoint).
    single: tuple[str, ...]
    #: The command of each pod of a multi-node Kubernetes job (torchrun; empty for Ray).
    k8s_command: tuple[str, ...]
    #: Environment of the image: the process count per machine for torchrun.
    env: tuple[tuple[str, str], ...] = ()
    nodes: int = NODES
    rdzv_port: int = RDZV_PORT


def _shape(command: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """("script", [path, args]) for ``python x.py``, ("module", [name, args]) for
    ``python -m x``, ("program", argv) for anything else (a console script)."""
    if command and command[0] in ("python", "python3") and len(command) > 1:
        if command[1] == "-m" and len(command) > 2:
            return "module", command[2:]
        if not command[1].startswith("-"):
            return "script", command[1:]
    return "program", command


#: How each launcher is told that it runs a module, or a program rather than a script.
_FLAGS = {
    "torchrun": (("torchrun",), ("-m",), ("--no-python",)),
    "accelerate": (("accelerate", "launch"), ("-m",), ("--no_python",)),
    "deepspeed": (("deepspeed",), ("--module",), ("--no_python",)),
}


def launched(launcher: str, command: tuple[str, ...]) -> tuple[str, ...]:
    """``command`` (one process) under ``launcher``."""
    start, module, program = _FLAGS[launcher]
    kind, rest = _shape(command)
    if kind == "script":
        return (*start, *rest)
    if kind == "module":
        return (*start, *module, *rest)
    return (*start, *program, *rest)


def plan_launch(
    profile: ProjectProfile, command: tuple[str, ...], chosen: bool, device: str
) -> Launch | None:
    """The launch of ``command`` for the profile's distributed code; None when the code is
    not distributed, when the user chose the command (``--entry``: theirs as given), when
    nothing was found to launch, when the entry point is a server or JupyterLab, or when the
    command already starts a launcher (a README's ``torchrun ...``)."""
    facts = profile.distributed
    entry = profile.entrypoint
    if not facts.launcher or chosen or not command or entry is None:
        return None
    if entry.port or entry.kind == "jupyterlab":
        return None  # a server or notebooks: one process serves (Accelerate in inference code)
    first = facts.evidence[0] if facts.evidence else None
    why = f"the code {first.detail} at {first.path}:{first.line}" if first else ""
    if command[0] in _LAUNCHERS or command[:3] == ("python", "-m", "torch.distributed.run"):
        return None
    if facts.launcher == "mpi":
        return None  # mpiexec starts MPI ranks; one process is what the image runs alone
    if facts.launcher == "ray":
        return Launch("ray", why, command, command, ())
    env = (("PET_NPROC_PER_NODE", "gpu"),) if device == "cuda" else ()
    return Launch(
        facts.launcher,
        why,
        launched(facts.launcher, command),
        command,
        launched("torchrun", command),
        env if facts.launcher == "torchrun" else (),
    )
