"""BuildPlan -> {relative path: text}, through one Jinja environment.

Templates live in the top-level ``templates/`` folder of the source tree and ship inside the
wheel as ``dockerize_ml/templates``. They format the plan; they do not decide.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import re
import shlex
from functools import cache
from pathlib import Path

import jinja2
import jinja2.bccache

from dockerize_ml.errors import DOCS_URL
from dockerize_ml.install import DEPS_DIR
from dockerize_ml.names import (
    CONTEXT_IGNORE,
    DEVCONTAINER,
    GITLAB_CI,
    INFERRED_FILE,
    K8S_DIR,
    MARKER,
    OUTPUTS,
    cache_home,
)
from dockerize_ml.plan import BuildPlan
from dockerize_ml.probes import IMPORT_PROBE, SCRIPT_PROBE
from dockerize_ml.targets import outputs as target_outputs
from dockerize_ml.version import __version__


def templates_dir() -> Path:
    """The templates folder: inside the installed package, or the source tree's own."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "Dockerfile.j2").is_file():
            return candidate
    raise FileNotFoundError("dockerize-ml's templates folder is missing from the installation")


class _CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Jinja's own cache of compiled templates, in the user's dockerize-ml cache folder
    (``templates/``, created private): a run loads the templates it renders instead of
    compiling them again (0.2-0.4 s of every ``check`` after an edit). A template is found
    by its name and the checksum of its text; the file names carry dockerize-ml's version
    and the environment's settings, which shape the compiled code. A cache that cannot be
    read or written costs a compile, never a run."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError):
            bucket.reset()  # unreadable, truncated, written by another Python: compiled

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):  # a full or read-only disk: compiled next time
            super().dump_bytecode(bucket)


#: The environment's lexer settings, which shape compiled templates (_CompiledTemplates):
#: keep_trailing_newline, trim_blocks, lstrip_blocks.
_KEEP_NEWLINE, _TRIM, _LSTRIP = True, True, True


def _template_cache() -> jinja2.BytecodeCache | None:
    shape = "".join("1" if on else "0" for on in (_KEEP_NEWLINE, _TRIM, _LSTRIP))
    folder = cache_home() / "templates"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:  # no folder can be made (a read-only home): compiled each run
        return None
    return _CompiledTemplates(str(folder), f"{__version__}-{shape}-%s.cache")


@cache
def environment() -> jinja2.Environment:
    """The one Jinja environment: strict about undefined names, trailing newlines kept."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=_KEEP_NEWLINE,
        trim_blocks=_TRIM,
        lstrip_blocks=_LSTRIP,
        bytecode_cache=_template_cache(),
    )
    env.filters["exec_form"] = lambda argv: json.dumps(list(argv))
    env.filters["sh"] = shlex.quote
    env.filters["sh_path"] = sh_path
    env.filters["in_context"] = _in_context
    env.filters["json"] = json.dumps
    env.filters["yaml"] = yaml_scalar
    env.filters["format_secret"] = lambda name: f" --secret id={name},env={name}"
    # The smoke tests' programs, the same ones `dockerize-ml build` runs (dockerize_ml/probes.py).
    env.globals["import_probe"] = IMPORT_PROBE
    env.globals["script_probe"] = SCRIPT_PROBE
    env.globals["docs_url"] = DOCS_URL
    return env


def sh_path(path: str) -> str:
    """A relative path as one shell word that is neither read as an option (``-x``) nor, as
    a command, as a job (``%1``)."""
    plain = path[:1].isalnum() or path[:1] in ("_", ".")
    return shlex.quote(path if plain else "./" + path)


#: A YAML plain scalar that means the same text in YAML 1.1 and 1.2, quoted or not.
_PLAIN = re.compile(r"[A-Za-z0-9_./$(][^\n]*")


def yaml_scalar(text: str) -> str:
    """``text`` as one YAML scalar: plain when YAML reads it back unchanged, else quoted
    (JSON's double-quoted strings are YAML)."""
    plain = (
        _PLAIN.fullmatch(text) is not None
        and ": " not in text
        and " #" not in text
        and not text.endswith((":", " "))
        and text.lower() not in ("true", "false", "yes", "no", "on", "off", "null", "~")
        and re.fullmatch(r"[-+]?[0-9][0-9._:]*([eE][-+]?[0-9]+)?", text) is None
    )
    return text if plain else json.dumps(text)


def _in_context(pattern: str, prefix: str) -> str:
    """A .dockerignore pattern of the project, for a context rooted higher up: ``**/`` ones
    stay global (they apply to the sibling folders too), the others get the project's path."""
    negated = pattern.startswith("!")
    body = pattern[1:] if negated else pattern
    if prefix and not body.startswith("**/"):
        body = prefix + body.lstrip("/")
    return ("!" if negated else "") + body


def distributed_outputs(plan: BuildPlan) -> dict[str, str]:
    """The multi-node jobs of ``--k8s`` for distributed code: a Kubeflow PyTorchJob and, for
    clusters without the operator, an indexed Job with torchrun's c10d rendezvous; a KubeRay
    RayJob for Ray code. Each in a file of its own: apply the one your cluster runs."""
    if not plan.k8s or plan.launch is None:
        return {}
    name = plan.project_name
    if plan.launch.launcher == "ray":
        return {f"{K8S_DIR}/{name}-rayjob.yaml": "k8s-rayjob.yaml.j2"}
    return {
        f"{K8S_DIR}/{name}-pytorchjob.yaml": "k8s-pytorchjob.yaml.j2",
        f"{K8S_DIR}/{name}-torchrun-job.yaml": "k8s-torchrun-job.yaml.j2",
    }


def render(plan: BuildPlan) -> dict[str, str]:
    """Render every generated file of the plan."""
    env = environment()
    outputs = dict(OUTPUTS)
    if plan.inferred_requirements:
        outputs[INFERRED_FILE] = "requirements.inferred.txt.j2"
    if plan.context is not None:
        # Built from the repository root: BuildKit reads the ignore file beside the Dockerfile.
        del outputs[".dockerignore"]
        outputs[CONTEXT_IGNORE] = "dockerignore.j2"
    up = plan.ci_paths.up
    if "github" in plan.ci:
        outputs[f"{up}{plan.ci_paths.workflow_file}"] = "github.yml.j2"
    if "gitlab" in plan.ci:
        outputs[f"{up}{GITLAB_CI}"] = "gitlab-ci.yml.j2"
    if plan.k8s:
        outputs[f"{K8S_DIR}/{plan.project_name}.yaml"] = "k8s.yaml.j2"
    if plan.devcontainer:
        outputs[DEVCONTAINER] = "devcontainer.json.j2"
    outputs.update(distributed_outputs(plan))
    outputs.update(target_outputs(plan))
    return {
        path: env.get_template(name).render(plan=plan, marker=MARKER, deps_dir=DEPS_DIR)
        for path, name in outputs.items()
    }
