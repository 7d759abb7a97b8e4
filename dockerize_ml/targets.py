"""Platform targets (``init --target NAME``): the image as SageMaker, Vertex AI, Cloud Run and
Hugging Face Spaces run it.

A target is a plan decision plus files (DESIGN.md): it never changes what detection found.
What it decides here:

- the training command and the server app that the generated entry points run
  (``docker/platform/train`` and ``serve``, on the image's PATH, as SageMaker calls them:
  ``docker run IMAGE train`` / ``docker run IMAGE serve``);
- where each platform's folders meet the project's: SageMaker's channels
  (``/opt/ml/input/data/<channel>``) are linked at the data folders the code reads, its
  ``/opt/ml/model`` at the folder the code writes the model into; Vertex's ``AIP_MODEL_DIR``,
  ``AIP_CHECKPOINT_DIR`` and ``AIP_TENSORBOARD_LOG_DIR`` likewise;
- the routes the serve entry adds in front of the app, without touching its code (``GET
  /ping`` and ``POST /invocations`` for SageMaker, ``AIP_HEALTH_ROUTE`` / ``AIP_PREDICT_ROUTE``
  for Vertex);
- the port: ``$AIP_HTTP_PORT``, else ``$PORT`` (Cloud Run, Knative), else 8080. With a target
  that runs the image's own command (cloudrun, vertex, spaces), that command becomes ``serve``
  and the image listens on 8080 everywhere (docker/run.sh, compose and Kubernetes follow);
- for Spaces, the README front matter (``sdk: docker``, ``app_port``).

The entry points are plain files (a POSIX shell script each, and one Python module that reads
``docker/platform/targets.json``), so a user can read and edit what runs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from dockerize_ml import knowledge
from dockerize_ml.install import InvalidSettingError
from dockerize_ml.names import GENERATED, PLATFORM_DIR
from dockerize_ml.profile import EntryPoint, ProjectProfile

if TYPE_CHECKING:  # plan imports this module: only the types come the other way
    from dockerize_ml.plan import BuildPlan, Settings

__all__ = ["TARGETS", "TargetPlan", "apply_targets", "outputs"]

_TABLE = knowledge.load("targets")
TARGETS = tuple(_TABLE["platforms"])
#: Targets whose platform runs the image's own command (not `train` / `serve` by name).
_RUN_CMD = tuple(n for n, row in _TABLE["platforms"].items() if row["run_command"])
#: The folder of the generated entry points in the project, and where the image has them.
IMAGE_DIR = "/opt/dockerize-ml"
#: SageMaker's fixed serving port; Cloud Run's and Vertex's default one.
PORT: int = _TABLE["port"]["default"]
#: The generated files of a plan with targets, and their templates.
_FILES = {
    f"{PLATFORM_DIR}/train": "platform-train.sh.j2",
    f"{PLATFORM_DIR}/serve": "platform-serve.sh.j2",
    f"{PLATFORM_DIR}/platform_entry.py": "platform_entry.py.j2",
    f"{PLATFORM_DIR}/targets.json": "platform-targets.json.j2",
}
README = "README.md"
#: Kinds of entry point that train (rather than serve).
_SCRIPTS = ("script", "module", "console-script")
#: Output folders by what Vertex's variables name (checkpoints, TensorBoard logs).
_CHECKPOINT_NAMES = tuple(_TABLE["outputs"]["checkpoints"])
_TENSORBOARD_NAMES = tuple(_TABLE["outputs"]["tensorboard"])
#: Options that give a server's port, and those whose value ends in it (gunicorn --bind).
_PORT_OPTIONS = tuple(_TABLE["port"]["options"])
_BIND_OPTIONS = tuple(_TABLE["port"]["bind_options"])
_ROUTE = re.compile(r"/[A-Za-z0-9._~/-]*")


@dataclass(frozen=True)
class AppRef:
    """The app object the serve entry imports and serves behind its routes."""

    interface: str  # asgi or wsgi
    module: str
    attr: str
    factory: bool = False
    app_dir: str = ""


@dataclass(frozen=True)
class TargetPlan:
    """What the platform entry points do, decided once."""

    names: tuple[str, ...]
    #: The training command (the project's training entry point), () when there is none.
    train: tuple[str, ...]
    train_origin: str
    #: The app the serve entry wraps, when it is an ASGI or WSGI app it can import.
    app: AppRef | None
    #: The server's own command with its port as ``{port}``, () when the port is in the code.
    serve_command: tuple[str, ...]
    health: str
    #: The prediction route chosen with --predict-route ("" : the app's only POST route).
    predict: str
    data_dirs: tuple[str, ...]
    #: Output folders: the model's, the checkpoints', the TensorBoard logs', the rest.
    model_dir: str
    checkpoint_dir: str
    tensorboard_dir: str
    other_outputs: tuple[str, ...]
    workdir: str
    #: Port the image's command listens on when a platform runs it (Spaces' app_port).
    app_port: int
    #: Write README.md (the Spaces card): there is none, or it is the one dockerize-ml wrote.
    readme: bool
    tool_version: str

    @property
    def sagemaker(self) -> bool:
        return "sagemaker" in self.names

    @property
    def spaces(self) -> bool:
        return "spaces" in self.names

    @property
    def config_json(self) -> str:
        """docker/platform/targets.json: what the entry points read."""
        config: dict[str, Any] = {
            "generated": f"Generated by dockerize-ml {self.tool_version}: the platform entry "
            "points' settings. Regenerate: dockerize-ml init",
            "targets": list(self.names),
            "workdir": self.workdir,
            "train": {
                "command": list(self.train),
                "data": list(self.data_dirs),
                "model": self.model_dir,
                "checkpoints": self.checkpoint_dir,
                "tensorboard": self.tensorboard_dir,
                "outputs": list(self.other_outputs),
            },
            "serve": {
                "app": None if self.app is None else self.app.__dict__,
                "command": list(self.serve_command),
                "health": self.health,
                "predict": self.predict,
                "sagemaker": self.sagemaker,
                "port": PORT,
                "model": self.model_dir,
            },
        }
        return json.dumps(config, indent=2) + "\n"


def outputs(plan: BuildPlan) -> dict[str, str]:
    """The generated files the targets add: path -> template."""
    if plan.targets is None:
        return {}
    files = dict(_FILES)
    if plan.targets.readme:
        files[README] = "spaces-README.md.j2"
    return files


def _train_command(plan: BuildPlan, profile: ProjectProfile) -> tuple[tuple[str, ...], str]:
    """The project's training entry: the image's command when it is not a server, else the
    detected script whose file names training (train.py), else the first other script."""
    if plan.smoke.kind != "server":
        if plan.command == ("python",):
            return (), ""
        return plan.command, plan.command_origin
    scripts = [e for e in profile.entrypoint_alternatives if e.kind in _SCRIPTS]
    server_files = {str(e.path) for ep in (profile.entrypoint,) if ep for e in ep.evidence}
    scripts = [s for s in scripts if not (len(s.command) > 1 and s.command[1] in server_files)]
    if not scripts:
        return (), ""
    named = [s for s in scripts if any("train" in word for word in s.command[1:2])]
    chosen = (named or scripts)[0]
    origin = str(chosen.evidence[0]) if chosen.evidence else chosen.kind
    return chosen.command, origin


def _option(command: tuple[str, ...], *names: str) -> str:
    for i, word in enumerate(command[:-1]):
        if word in names:
            return command[i + 1]
    return ""


def _target(text: str, interface: str, app_dir: str, factory: bool = False) -> AppRef | None:
    """``module:attr`` (or ``module:factory()``) as the app reference."""
    module, _, attr = text.partition(":")
    attr = attr or "app"
    if attr.endswith("()"):
        attr, factory = attr[:-2], True
    if not re.fullmatch(r"[A-Za-z_][\w.]*", module) or not attr.isidentifier():
        return None
    return AppRef(interface, module, attr, factory, app_dir)


def _app(entry: EntryPoint | None, command: tuple[str, ...]) -> AppRef | None:
    """The ASGI or WSGI app the server command serves, when it names one the serve entry
    can import (uvicorn, gunicorn, ``flask --app``)."""
    if entry is None or entry.command != command or not command:
        return None
    args = [w for w in command[1:] if not w.startswith("-")]
    if command[0] == "uvicorn":
        target = next((w for w in command[1:] if ":" in w and not w[0].isdigit()), "")
        return _target(target, "asgi", _option(command, "--app-dir"), "--factory" in command)
    if command[0] == "gunicorn":
        target = next((w for w in reversed(args) if ":" in w and not w[0].isdigit()), "")
        return _target(target, "wsgi", _option(command, "--chdir"))
    if command[0] == "flask":
        return _target(_option(command, "--app"), "wsgi", "")
    return None


def _port_template(command: tuple[str, ...], port: int) -> tuple[str, ...]:
    """The server command with its port as ``{port}``; () when no argument holds it."""
    words = list(command)
    for i, word in enumerate(words):
        previous = words[i - 1] if i else ""
        option, equals, value = word.partition("=")
        if word == str(port) and previous in _PORT_OPTIONS:
            words[i] = "{port}"
            return tuple(words)
        if equals and option in _PORT_OPTIONS and value == str(port):  # --server.port=8501
            words[i] = f"{option}={{port}}"
            return tuple(words)
        if previous in _BIND_OPTIONS and word.endswith(f":{port}"):
            words[i] = word[: -len(str(port))] + "{port}"
            return tuple(words)
    return ()


def _outputs(profile: ProjectProfile) -> tuple[str, str, str, tuple[str, ...]]:
    """The output folders: the model's, the checkpoints', TensorBoard's, and the rest."""
    folders = list(profile.output_dirs)
    checkpoints = next((f for f in folders if PurePosixPath(f).name in _CHECKPOINT_NAMES), "")
    tensorboard = next((f for f in folders if PurePosixPath(f).name in _TENSORBOARD_NAMES), "")
    rest = [f for f in folders if f not in (checkpoints, tensorboard)]
    model = rest[0] if rest else checkpoints
    others = tuple(f for f in rest[1:])
    if model == checkpoints:
        checkpoints = ""
    return model, checkpoints, tensorboard, others


def _front_matter(text: str) -> dict[str, str]:
    """The ``key: value`` lines of a README's YAML front matter (Spaces' card settings)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    found: dict[str, str] = {}
    for line in lines[1:]:
        if line.strip() == "---":
            return found
        key, sep, value = line.partition(":")
        if sep and not key.startswith((" ", "#")):
            found[key.strip()] = value.strip().strip("\"'")
    return {}


def _readme(root: Path, port: int, marker: str, notes: list[str]) -> bool:
    """Whether README.md is written (none yet, or dockerize-ml's own); a user's README with
    other settings gets a note with the lines Spaces needs, never an edit."""
    path = root / README
    try:
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None
    except OSError:
        text = ""
    if text is None or marker in text.split("\n---", 1)[0]:
        return True
    matter = _front_matter(text)
    if matter.get("sdk") != "docker" or matter.get("app_port") != str(port):
        notes.append(
            f"--target spaces: README.md is yours, so it is not edited; Hugging Face Spaces reads "
            f"its front matter: start it with the lines ---, sdk: docker, app_port: {port}, ---"
        )
    return False


def _checked_names(settings: Settings) -> tuple[str, ...]:
    for name in settings.targets:
        if name not in TARGETS:
            raise InvalidSettingError(
                f"--target {name!r} is not one of {', '.join(TARGETS)}",
                "for example --target sagemaker (repeatable)",
            )
    route = settings.predict_route
    if route is not None and not _ROUTE.fullmatch(route):
        raise InvalidSettingError(
            f"--predict-route {route!r} is not an HTTP path", "for example --predict-route /predict"
        )
    return tuple(dict.fromkeys(settings.targets))


def apply_targets(plan: BuildPlan, profile: ProjectProfile, settings: Settings) -> BuildPlan:
    """The plan with the targets' decisions: the entry points, and for platforms that run
    the image's command, ``serve`` (or ``train``) as that command on port 8080."""
    names = _checked_names(settings)
    if not names:
        return plan
    notes: list[str] = []
    train, train_origin = _train_command(plan, profile)
    server = plan.smoke.kind == "server" and plan.smoke.command == plan.command
    app = _app(profile.entrypoint, plan.command) if server else None
    serve_command = _port_template(plan.command, plan.smoke.port) if server else ()
    model, checkpoints, tensorboard, others = _outputs(profile)
    runs_serve = server and any(n in _RUN_CMD for n in names) and bool(app or serve_command)
    port = PORT if runs_serve else plan.server_port
    _notes(names, train, server, app, serve_command, model, plan, notes)
    target = TargetPlan(
        names=names,
        train=train,
        train_origin=train_origin,
        app=app,
        serve_command=serve_command,
        health=plan.smoke.path if server else "",
        predict=settings.predict_route or "",
        data_dirs=profile.data_dirs,
        model_dir=model,
        checkpoint_dir=checkpoints,
        tensorboard_dir=tensorboard,
        other_outputs=others,
        workdir=plan.workdir,
        app_port=port,
        readme="spaces" in names and _readme(Path(profile.root), port, GENERATED, notes),
        tool_version=plan.tool_version,
    )
    changes: dict[str, Any] = {"targets": target, "notes": (*plan.notes, *notes)}
    if runs_serve:
        old = plan.smoke.port
        changes["command"] = ("serve",)
        changes["command_origin"] = f"--target {', '.join(names)}: {PLATFORM_DIR}/serve"
        changes["ports"] = (PORT, *(p for p in plan.ports if p not in (old, PORT)))
        changes["server_port"] = PORT
        changes["smoke"] = replace(plan.smoke, port=PORT, command=("serve",))
    elif "vertex" in names and train and not server:
        # Vertex's custom training runs the image's command: `train` links its AIP_* folders.
        changes["command"] = ("train",)
        changes["command_origin"] = f"--target vertex: {PLATFORM_DIR}/train runs {train_origin}"
    return replace(plan, **changes)


def _notes(
    names: tuple[str, ...],
    train: tuple[str, ...],
    server: bool,
    app: AppRef | None,
    serve_command: tuple[str, ...],
    model: str,
    plan: BuildPlan,
    notes: list[str],
) -> None:
    """What the user should know about what the targets could not arrange."""
    if "sagemaker" in names or "vertex" in names:
        if not train:
            notes.append(
                "--target: no training script was found, so `train` has nothing to run "
                '(set entry = "python train.py" or pass --entry for a training image)'
            )
        elif not model:
            notes.append(
                "--target: no folder the training code writes into was found: write the model "
                "to $SM_MODEL_DIR (SageMaker) or $AIP_MODEL_DIR (Vertex), which `train` sets"
            )
    if "sagemaker" in names and app is None:
        what = f"`{' '.join(plan.command)}`" if server else "no server"
        notes.append(
            f"--target sagemaker: `serve` needs a FastAPI, Starlette or Flask app served by "
            f"uvicorn, gunicorn or flask to add /ping and /invocations; the image runs {what}"
        )
    if any(n in _RUN_CMD for n in names) and server and app is None and not serve_command:
        notes.append(
            f"--target: `{' '.join(plan.command)}` takes its port ({plan.smoke.port}) from the "
            "code, not from $PORT: set the platform's container port to it"
        )
    if "spaces" in names and not server:
        notes.append("--target spaces: the image runs no server; a Space needs one on app_port")
