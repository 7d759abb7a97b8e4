"""Run dockerize-ml on the real-world corpus and check it against the readers' expectations.

    python benchmarks/realworld/run.py --repos /work/.mirror          # detect, init, lint, context
    python benchmarks/realworld/run.py --repos /work/.mirror --build  # and build the light ones
    python benchmarks/realworld/run.py --repos /work/.mirror --build --fix  # and --fix them
    python benchmarks/realworld/run.py --repos DIR --only karpathy/nanoGPT --keep
    python benchmarks/realworld/run.py --repos DIR --table docs/realworld-table.md

For each `repos/*.toml` (format: README.md beside this file) it exports the pinned commit of the
repository from DIR (clones or bare git directories: DIR/<owner>+<name>/repo as the search
tool's fetch leaves them, DIR/<owner>+<name>, DIR/<owner>__<name> or DIR/<name>), writes the
planted clutter, runs `dockerize-ml detect --json` and `dockerize-ml init` as a user would,
lints what was written (hadolint, shellcheck), and lists the build context the way Docker itself
computes it: a BuildKit build of `COPY . /` into a local folder, with the generated ignore file.
Every expectation that fails prints one line; a summary and a Markdown table follow.

The context listing needs a Docker engine with BuildKit (DOCKERIZE_ML_DOCKER, default
/usr/bin/docker, and the python:3.11-slim base `.ci/engine.sh` builds is not even needed: the
listing image is FROM scratch). Without one the context checks are reported as not run.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from dockerize_ml.detect.imports import provided

HERE = Path(__file__).resolve().parent
MANIFESTS = HERE / "repos"
DOCKER = os.environ.get("DOCKERIZE_ML_DOCKER", "/usr/bin/docker")
#: Outputs the lint step looks at.
SCRIPTS = ("docker/build.sh", "docker/run.sh", "docker/smoke.sh")


@dataclass
class Outcome:
    """What happened to one repository."""

    name: str
    kind: str
    light: bool
    checks: int = 0
    failures: list[str] = field(default_factory=list)
    built: str = "-"  # "-" not tried, "yes", "no", "smoke failed"
    #: With --fix, for a light image that failed: "-" not needed, "yes (causes)", "no: why".
    fixed: str = "-"
    seconds: float = 0.0
    #: Files of the pinned tree whose content the store lacks (left out of the checks).
    missing: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        self.checks += 1
        if not ok:
            self.failures.append(what)

    def fail(self, what: str) -> None:
        self.check(False, what)

    @property
    def passed(self) -> int:
        return self.checks - len(self.failures)


def manifest_id(data: dict[str, Any]) -> str:
    sub = data.get("subdir", "")
    return data["repo"] + (f":{sub}" if sub else "")


def find_git_dir(repos: Path, repo: str) -> Path | None:
    """The git directory (bare or a clone's) of owner/name under ``repos``."""
    owner, name = repo.split("/", 1)
    for candidate in (
        repos / f"{owner}+{name}" / "repo",
        repos / f"{owner}+{name}",
        repos / f"{owner}__{name}",
        repos / name,
    ):
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
            return candidate
        if (candidate / ".git").exists():
            return candidate / ".git"
    return None


def export(git_dir: Path, commit: str, target: Path) -> tuple[str | None, list[str]]:
    """Write the tree of ``commit`` into ``target`` and commit it there: a checkout.

    Returns a problem (or None) and the paths whose content the store lacks (snapshots keep no
    file of 4 MiB or more): those are left out of the tree and of the checks that name them.
    """
    git = ["git", f"--git-dir={git_dir}"]
    listing = subprocess.run(
        [*git, "ls-tree", "-r", "-z", "--full-tree", commit], capture_output=True, check=False
    )
    if listing.returncode != 0:
        return listing.stderr.decode(errors="replace").strip() or "ls-tree failed", []
    entries = []
    for record in listing.stdout.split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, kind, sha = meta.decode().split()
        if kind == "blob":
            entries.append((mode, sha, path.decode(errors="surrogateescape")))
    batch = subprocess.run(
        [*git, "cat-file", "--batch"],
        input=b"".join(f"{sha}\n".encode() for _, sha, _ in entries),
        capture_output=True,
        check=False,
    )
    out, missing, pos = batch.stdout, [], 0
    target.mkdir(parents=True)
    for mode, _sha, path in entries:
        end = out.index(b"\n", pos)
        header = out[pos:end].decode().split()
        pos = end + 1
        if header[-1] == "missing":
            missing.append(path)
            continue
        size = int(header[2])
        data, pos = out[pos : pos + size], pos + size + 1
        dest = target / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        if mode == "120000":
            dest.symlink_to(data.decode(errors="surrogateescape"))
        else:
            dest.write_bytes(data)
            if mode == "100755":
                dest.chmod(0o755)
    # The pinned commit's own dates, as a clone has them: `build --fix` dates the pins by
    # the last commit that changed a dependency file (exclude-newer), which a fixed date
    # would make the year 2000.
    dates = subprocess.run(
        [*git, "log", "-1", "--format=%aI%n%cI", commit],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    problem = _commit_checkout(target, tuple(dates) if len(dates) == 2 else None)
    return problem, missing


#: A fixed author, and a date for a tree whose commit has none: the export is the same
#: every run (the pinned commit's own dates are used when it has them).
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "realworld",
    "GIT_AUTHOR_EMAIL": "realworld@example.invalid",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00Z",
    "GIT_COMMITTER_NAME": "realworld",
    "GIT_COMMITTER_EMAIL": "realworld@example.invalid",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00Z",
}


def _commit_checkout(target: Path, dates: tuple[str, str] | None = None) -> str | None:
    """Make ``target`` a real git repository whose one commit is the pinned tree, as a clone
    is: the tool reads which files git tracks, and clutter planted afterwards is untracked,
    as in a working copy."""
    env = {**os.environ, **_GIT_ENV, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    if dates is not None:
        env["GIT_AUTHOR_DATE"], env["GIT_COMMITTER_DATE"] = dates
    git = ["git", "-C", str(target), "-c", "init.defaultBranch=main", "-c", "core.autocrlf=false"]
    for args in (
        ["init", "-q"],
        # -f: the tree is the pinned commit's, whatever its own .gitignore says
        ["add", "-A", "-f", "."],
        ["commit", "-q", "--no-verify", "--allow-empty", "-m", "pinned tree"],
    ):
        done = subprocess.run([*git, *args], capture_output=True, env=env, check=False)
        if done.returncode != 0:
            return f"git {args[0]}: " + done.stderr.decode(errors="replace").strip()
    return None


def plant(project: Path, plants: list[dict[str, Any]]) -> None:
    for item in plants:
        path = project / item["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        if "text" in item:
            path.write_text(item["text"], encoding="utf-8")
        else:
            # Not zeros: a real checkpoint does not compress to nothing.
            size = int(item.get("size", 1024))
            with path.open("wb") as out:
                chunk = os.urandom(min(size, 1 << 20))
                left = size
                while left > 0:
                    out.write(chunk[:left])
                    left -= len(chunk)


def tool_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "dockerize_ml", *args]


def run(
    cmd: list[str], cwd: Path | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, check=False, timeout=timeout, env=env
    )


# ---------------------------------------------------------------- reading what was generated


def dockerfile_cmd(dockerfile: str) -> list[str] | None:
    """The final stage's ENTRYPOINT + CMD, exec form."""
    entry: list[str] = []
    cmd: list[str] = []
    for line in _logical_lines(dockerfile):
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            entry, cmd = [], []
        elif word.upper() in ("CMD", "ENTRYPOINT"):
            rest = rest.strip()
            try:
                argv = json.loads(rest)
            except json.JSONDecodeError:
                argv = ["/bin/sh", "-c", rest]
            if word.upper() == "CMD":
                cmd = [str(a) for a in argv]
            else:
                entry = [str(a) for a in argv]
    return [*entry, *cmd] or None


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    buf = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        lines.append(buf + stripped)
        buf = ""
    if buf:
        lines.append(buf)
    return lines


def exposed_ports(dockerfile: str) -> set[int]:
    ports: set[int] = set()
    for line in _logical_lines(dockerfile):
        word, _, rest = line.partition(" ")
        if word.upper() == "EXPOSE":
            ports.update(int(p.split("/")[0]) for p in rest.split() if p.split("/")[0].isdigit())
    return ports


_APT = re.compile(r"apt-get\s+install\s+(?P<args>[^;&|]*)")


def apt_packages(dockerfile: str) -> set[str]:
    names: set[str] = set()
    for line in _logical_lines(dockerfile):
        for m in _APT.finditer(line):
            for word in m.group("args").split():
                if not word.startswith("-") and re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", word):
                    names.add(word)
    return names


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


#: A requirement pip clones from GitHub: owner, name, and the ref (none: the default branch).
_GITHUB = re.compile(
    r"git\+https://github\.com/([^/@#]+)/([^/@#]+?)(?:\.git)?/?(?:@([^#]+))?(?:#.*)?$"
)


def _requirement_names(lines: list[str]) -> set[str]:
    names = set()
    for line in lines:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if match:
            names.add(_canon(match.group(1)))
    return names


def _declared_requires(setup_py: str, pyproject: str) -> set[str]:
    """The run-time requirements a project's setup.py (a list literal assigned to, or passed
    as, ``install_requires``) or pyproject.toml (``[project].dependencies``) declares."""
    names: set[str] = set()
    if pyproject:
        try:
            project = tomllib.loads(pyproject).get("project", {})
        except tomllib.TOMLDecodeError:
            project = {}
        names |= _requirement_names([str(r) for r in project.get("dependencies", [])])
    try:
        tree = ast.parse(setup_py) if setup_py else None
    except SyntaxError:
        tree = None
    for node in ast.walk(tree) if tree is not None else ():
        named = isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "install_requires" for t in node.targets
        )
        passed = isinstance(node, ast.keyword) and node.arg == "install_requires"
        value = node.value if isinstance(node, (ast.Assign, ast.keyword)) else None
        if (named or passed) and isinstance(value, ast.List):
            strings = [e.value for e in value.elts if isinstance(e, ast.Constant)]
            names |= _requirement_names([v for v in strings if isinstance(v, str)])
    return names


def vcs_requires(profile: dict[str, Any], repos: Path | None) -> set[str]:
    """What the git dependencies pip clones from GitHub require: PyPI has no metadata for
    them, so it is read from their repositories under ``repos`` (fetched like the corpus),
    at the ref the requirement names (its default branch when none). One not there adds
    nothing: its requirements then count as not installed."""
    names: set[str] = set()
    for dep in profile.get("dependencies", []):
        match = _GITHUB.match(dep.get("url", ""))
        git_dir = find_git_dir(repos, f"{match[1]}/{match[2]}") if match and repos else None
        if match is None or git_dir is None:
            continue
        ref = match[3] or "HEAD"

        def show(path: str, git_dir: Path = git_dir, ref: str = ref) -> str:
            done = subprocess.run(
                ["git", "--git-dir", str(git_dir), "show", f"{ref}:{path}"],
                capture_output=True,
                text=True,
                check=False,
            )
            return done.stdout if done.returncode == 0 else ""

        names |= _declared_requires(show("setup.py"), show("pyproject.toml"))
    return names


def installed_names(
    profile: dict[str, Any], project: Path, files: dict[str, str], repos: Path | None = None
) -> set[str]:
    """Distributions the image installs, as far as the generated files and locks say, and
    what those require (the brings table; a git dependency's own setup.py or pyproject)."""
    names = {_canon(d["name"]) for d in profile.get("dependencies", [])}
    names |= vcs_requires(profile, repos)
    text = "\n".join(files.values())
    for token in re.findall(r"[A-Za-z0-9][A-Za-z0-9._-]*", text):
        names.add(_canon(token))
    for source in profile.get("dependency_sources", []):
        lock = source.get("lock")
        if source.get("used") and lock and (project / lock).is_file():
            lock_text = (project / lock).read_text(errors="replace")
            names.update(_canon(n) for n in re.findall(r'^name = "([^"]+)"', lock_text, re.M))
            names.update(_canon(n) for n in re.findall(r'^\s*"([^"]+)": \{', lock_text, re.M))
    # What those require is installed with them (the brings table: PyPI's Requires-Dist of
    # each current release): pandas brings numpy, flax brings optax and chex.
    return provided(names)


def entry_matches(expected: str, actual: list[str]) -> bool:
    """Does the container command match one acceptable form? ("..." allows more words.)"""
    words = shlex.split(expected)
    open_end = bool(words) and words[-1] == "..."
    if open_end:
        words = words[:-1]

    def norm(argv: list[str]) -> list[str]:
        out = [
            re.sub(r"^python3(\.\d+)?$", "python", Path(a).name) if i == 0 else a
            for i, a in enumerate(argv)
        ]
        # `python -m uvicorn` is `uvicorn`, `./x.py` is `x.py`.
        if (
            len(out) >= 3
            and out[0] == "python"
            and out[1] == "-m"
            and out[2]
            in ("uvicorn", "gunicorn", "streamlit", "flask", "jupyter", "bentoml", "serve")
        ):
            out = out[2:]
        return [a.removeprefix("./") for a in out]

    want, got = norm(words), norm(actual)
    if open_end:
        return got[: len(want)] == want
    return got == want


# ---------------------------------------------------------------- the build context, by Docker


def context_files(context: Path, ignore_file: Path | None, scratch: Path) -> set[str] | str:
    """Every file Docker sends for ``context`` with ``ignore_file``: built, not guessed."""
    scratch.mkdir(parents=True, exist_ok=True)
    dockerfile = scratch / "list.Dockerfile"
    dockerfile.write_text("FROM scratch\nCOPY . /\n")
    own = scratch / "list.Dockerfile.dockerignore"
    if ignore_file is not None and ignore_file.is_file():
        shutil.copyfile(ignore_file, own)
    else:
        own.write_text("")
    out = scratch / "context"
    shutil.rmtree(out, ignore_errors=True)
    output = f"type=local,dest={out}"
    done = subprocess.run(
        [DOCKER, "build", "-q", "-f", str(dockerfile), "-o", output, str(context)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
        timeout=900,
    )
    if done.returncode != 0:
        return "context listing failed: " + (done.stderr.strip().splitlines() or ["?"])[-1]
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() or p.is_symlink()}
    shutil.rmtree(out, ignore_errors=True)
    return files


def in_listing(listing: set[str], rel: str) -> bool:
    rel = rel.strip("/")
    return rel in listing or any(f.startswith(rel + "/") for f in listing)


# ---------------------------------------------------------------- one repository


def lint(project: Path, outcome: Outcome, written: dict[str, str]) -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    shellcheck = shutil.which("shellcheck") or str(Path(sys.executable).parent / "shellcheck")
    if "Dockerfile" in written:
        done = run([hadolint, "--no-color", str(project / "Dockerfile")])
        outcome.check(
            done.returncode == 0 and not done.stdout.strip(),
            f"hadolint: {done.stdout.strip().splitlines()[:3]}",
        )
    scripts = [str(project / s) for s in SCRIPTS if (project / s).is_file()]
    if scripts:
        done = run([shellcheck, "--severity=style", *scripts])
        outcome.check(done.returncode == 0, f"shellcheck: {done.stdout.strip().splitlines()[:3]}")


def judge(
    outcome: Outcome,
    expect: dict[str, Any],
    profile: dict[str, Any],
    project: Path,
    written: dict[str, str],
    repos: Path | None = None,
) -> None:
    """The expectations read from the profile and the generated Dockerfile."""
    dockerfile = written.get("Dockerfile", "")
    installed = installed_names(profile, project, written, repos)
    for dist in expect.get("dependencies", []):
        outcome.check(_canon(dist) in installed, f"dependency {dist} is not installed")
    declared = {_canon(d["name"]) for d in profile.get("dependencies", [])}
    # and what the image installs although nothing declares it (imports; not against a lock)
    if not any(s.get("used") and s.get("lock") for s in profile.get("dependency_sources", [])):
        declared |= {_canon(n) for n in profile.get("undeclared_imports", [])}
    for dist in expect.get("not_dependencies", []):
        outcome.check(_canon(dist) not in declared, f"{dist} is installed (it should not be)")
    if "entry" in expect:
        actual = dockerfile_cmd(dockerfile) or []
        ok = any(entry_matches(e, actual) for e in expect["entry"])
        outcome.check(ok, f"entry {shlex.join(actual)!r}, expected one of {expect['entry']}")
    if "ports" in expect:
        ports = exposed_ports(dockerfile)
        outcome.check(
            ports == set(expect["ports"]), f"ports {sorted(ports)}, expected {expect['ports']}"
        )
    apt = apt_packages(dockerfile)
    for pkg in expect.get("system_packages", []):
        outcome.check(pkg in apt, f"system package {pkg} missing (has {sorted(apt)})")
    for pkg in expect.get("not_system_packages", []):
        outcome.check(pkg not in apt, f"system package {pkg} installed for nothing")
    if "cuda" in expect:
        uses = bool(profile.get("gpu", {}).get("uses_cuda"))
        outcome.check(uses == bool(expect["cuda"]), f"cuda {uses}, expected {expect['cuda']}")
    if "python" in expect:
        chosen = profile.get("python_version")
        outcome.check(
            chosen in expect["python"], f"python {chosen}, expected one of {expect['python']}"
        )


def judge_context(
    outcome: Outcome,
    expect: dict[str, Any],
    data: dict[str, Any],
    tree: Path,
    project: Path,
    work: Path,
) -> None:
    """context_in / context_out, against the context Docker itself sends."""
    own_ignore = project / "Dockerfile.dockerignore"
    if own_ignore.is_file():
        context, prefix, ignore = tree, (data.get("subdir", "").strip("/") + "/"), own_ignore
    else:
        context, prefix, ignore = project, "", project / ".dockerignore"
    listing = context_files(context, ignore, work / "_scratch")
    if isinstance(listing, str):
        outcome.fail(listing)
        return
    for rel in expect.get("context_in", []):
        if prefix + rel in outcome.missing:
            continue  # not in the store: nothing to find
        outcome.check(in_listing(listing, prefix + rel), f"{rel} is not in the build context")
    for rel in expect.get("context_out", []):
        outcome.check(not in_listing(listing, prefix + rel), f"{rel} is in the build context")


def try_fix(project: Path, tag: str, outcome: Outcome) -> None:
    """`build --fix` on a light image that failed: whether it ends passing, and with what."""
    report = run(tool_cmd("build", str(project), "--fix", "--json", "--tag", tag), timeout=3600)
    try:
        data = json.loads(report.stdout)
    except ValueError:
        last = (report.stderr.strip().splitlines() or [""])[-1]
        outcome.fixed = f"no: exit {report.returncode}: {last[:120]}"
        return
    kinds = [f["kind"] for r in data["rounds"] for f in r["findings"]]
    if data["ok"]:
        outcome.fixed = f"yes ({', '.join(kinds)})"
    else:
        outcome.fixed = f"no: {data['stopped']}" + (f" ({', '.join(kinds)})" if kinds else "")


def check_repo(
    data: dict[str, Any],
    repos: Path,
    work: Path,
    build: bool,
    fix: bool = False,
    tag_prefix: str = "realworld-",
) -> Outcome:
    name = manifest_id(data)
    outcome = Outcome(name, data.get("kind", "other"), bool(data.get("light", False)))
    started = time.monotonic()
    git_dir = find_git_dir(repos, data["repo"])
    if git_dir is None:
        outcome.fail(f"not found under {repos}")
        return outcome
    tree = work / re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    shutil.rmtree(tree, ignore_errors=True)
    problem, missing = export(git_dir, data["commit"], tree)
    if problem:
        outcome.fail(f"export failed: {problem}")
        return outcome
    outcome.missing = missing
    project = tree / data.get("subdir", "") if data.get("subdir") else tree
    expect: dict[str, Any] = data.get("expect", {})
    plant(project, data.get("plant", []))

    detected = run(tool_cmd("detect", "--json", str(project)))
    outcome.check(
        detected.returncode == 0,
        f"detect exit {detected.returncode}: {detected.stderr.strip().splitlines()[-1:]}",
    )
    if detected.returncode != 0:
        return outcome
    profile = json.loads(detected.stdout)
    init = run(tool_cmd("init", str(project), "--force"))
    outcome.check(
        init.returncode == 0,
        f"init exit {init.returncode}: {init.stderr.strip().splitlines()[-1:]}",
    )
    if init.returncode not in (0, 6, 8):
        return outcome
    written = {
        p.relative_to(project).as_posix(): p.read_text(errors="replace")
        for p in [
            project / "Dockerfile",
            *(project / s for s in SCRIPTS),
            project / ".dockerignore",
            project / "Dockerfile.dockerignore",
            project / "compose.yaml",
            *project.glob("requirements.inferred.txt"),
        ]
        if p.is_file()
    }
    lint(project, outcome, written)
    judge(outcome, expect, profile, project, written, repos)
    if expect.get("context_in") or expect.get("context_out"):
        judge_context(outcome, expect, data, tree, project, work)

    if build and outcome.light:
        tag = f"{tag_prefix}{re.sub(r'[^a-z0-9]+', '-', name.lower())}:latest"
        report = run(tool_cmd("build", str(project), "--json", "--tag", tag), timeout=1800)
        outcome.built = {0: "yes", 12: "smoke failed"}.get(report.returncode, "no")
        if fix and report.returncode in (11, 12):
            try_fix(project, tag, outcome)
        outcome.check(
            report.returncode == 0,
            f"build exit {report.returncode}: {(report.stderr.strip().splitlines() or [''])[-1]}",
        )
    outcome.seconds = time.monotonic() - started
    return outcome


def table(outcomes: list[Outcome], fix: bool = False) -> str:
    head = "| repository | kind | checks passed | built and smoke-tested |"
    head += " fixed by `build --fix` |" if fix else ""
    rows = [head + " wrong |", "| --- | --- | ---: | --- |" + (" --- |" if fix else "") + " --- |"]
    for o in outcomes:
        wrong = "; ".join(o.failures).replace("|", "\\|") or "-"
        built = o.built if o.light else "not light"
        fixed = f" {o.fixed.replace('|', '/')} |" if fix else ""
        rows.append(f"| {o.name} | {o.kind} | {o.passed}/{o.checks} | {built} |{fixed} {wrong} |")
    return "\n".join(rows) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repos", type=Path, required=True, help="folder of clones or bare git dirs"
    )
    parser.add_argument("--only", action="append", default=[], help="owner/name (repeatable)")
    parser.add_argument("--build", action="store_true", help="build and smoke-test the light ones")
    parser.add_argument(
        "--fix", action="store_true", help="with --build: run `build --fix` on those that fail"
    )
    parser.add_argument("--work", type=Path, help="where to export the checkouts (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the checkouts")
    parser.add_argument("--manifests", type=Path, default=MANIFESTS, help="folder of *.toml")
    parser.add_argument("--table", type=Path, help="also write the Markdown table here")
    parser.add_argument(
        "--tag-prefix", default="realworld-", help="prefix of the images --build tags"
    )
    args = parser.parse_args()

    manifests = [tomllib.loads(p.read_text()) for p in sorted(args.manifests.glob("*.toml"))]
    if args.only:
        manifests = [m for m in manifests if m["repo"] in args.only or manifest_id(m) in args.only]
    work = args.work or Path(tempfile.mkdtemp(prefix="realworld-"))
    outcomes: list[Outcome] = []
    for data in manifests:
        outcome = check_repo(
            data, args.repos, work, args.build, args.fix and args.build, args.tag_prefix
        )
        outcomes.append(outcome)
        for failure in outcome.failures:
            print(f"{outcome.name}: {failure}", flush=True)
        print(
            f"{outcome.name}: {outcome.passed}/{outcome.checks} checks"
            f"{'' if outcome.built == '-' else f', built: {outcome.built}'}"
            f"{'' if outcome.fixed == '-' else f', fixed: {outcome.fixed}'}"
            f" ({outcome.seconds:.0f} s)",
            flush=True,
        )
    right = [o for o in outcomes if not o.failures]
    light = [o for o in outcomes if o.light]
    print(
        f"\n{len(right)}/{len(outcomes)} repositories fully right; "
        f"{sum(o.passed for o in outcomes)}/{sum(o.checks for o in outcomes)} checks passed"
        + (
            f"; {len([o for o in light if o.built == 'yes'])}/{len(light)} light images built "
            "and smoke-tested"
            if args.build
            else ""
        )
        + (
            f"; {len([o for o in light if o.fixed != '-'])} needed --fix, "
            f"{len([o for o in light if o.fixed.startswith('yes')])} fixed by it"
            if args.build and args.fix
            else ""
        )
    )
    rendered = table(outcomes, args.fix and args.build)
    print("\n" + rendered)
    if args.table:
        args.table.write_text(rendered)
    if not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if len(right) == len(outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
