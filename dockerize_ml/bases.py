"""What a base image already has, and how the Dockerfile adapts to it.

The facts are rows of ``knowledge/bases.toml`` (the image's user, the user holding uid 1000,
where its Python is, where packages belong). :func:`image_user` turns them into the plan's
decisions: the app user (created, or the image's own), the commands that make it, whether
the setup must switch to root first, and where the project's packages are installed.

A base no row matches keeps the default (a Python of its own, root, no uid-1000 user).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache

from dockerize_ml import knowledge

__all__ = ["Base", "ImageUser", "find_base", "image_user"]

#: The app user dockerize-ml creates when the base has none to reuse.
APP_USER = "app"
DEFAULT_UID = 1000


@dataclass(frozen=True)
class Base:
    """One row of bases.toml: what the image already has."""

    name: str
    user: str
    uid_1000: str
    gid: int
    home: str
    python: str
    python_version: str
    env: str
    prefix: str
    externally_managed: bool


@dataclass(frozen=True)
class ImageUser:
    """The plan's user and environment decisions for one base image."""

    #: The user the image runs as, its group, uid and gid, and its home.
    name: str
    group: str
    uid: int
    gid: int
    home: str
    #: Whether the uid comes from the APP_UID build argument (docker/build.sh passes the
    #: host's uid); the image's own user keeps its uid.
    uid_arg: bool
    #: Commands of the setup layer that make the user (after the system packages).
    commands: tuple[str, ...]
    #: The base runs as another user: the setup switches to root and back.
    switch_to_root: bool
    #: Where the project's packages go, and whether the Dockerfile makes that virtualenv.
    env: str
    make_env: bool
    #: The base has no Python: Debian/Ubuntu's python3 is installed.
    system_python: bool
    #: The base's Python version when the table or the tag tells it ("" otherwise).
    python_version: str
    #: What the user is told about the choices (printed by `init`).
    notes: tuple[str, ...] = ()


def _split(image: str) -> tuple[str, str]:
    """The repository and the tag of an image reference (the digest dropped)."""
    name = image.split("@", 1)[0]
    repository, _, tag = name.rpartition(":")
    if not repository or "/" in tag:  # no tag, or a registry port (host:5000/x)
        return name, ""
    return repository, tag


@cache
def _rows() -> tuple[tuple[Base, tuple[str, ...], re.Pattern[str], str], ...]:
    rows = []
    for row in knowledge.load("bases")["base"]:
        base = Base(
            name=row["name"],
            user=row["user"],
            uid_1000=row["uid_1000"],
            gid=int(row["gid"]),
            home=row["home"],
            python=row["python"],
            python_version=row["python_version"],
            env=row["env"],
            prefix=row["prefix"],
            externally_managed=bool(row["externally_managed"]),
        )
        rows.append((base, tuple(row["repositories"]), re.compile(row["tag"]), row["python_tag"]))
    return tuple(rows)


def find_base(image: str) -> Base | None:
    """The first row of bases.toml for ``image``; None for a base the table does not know."""
    repository, tag = _split(image)
    for base, repositories, pattern, python_tag in _rows():
        if repository in repositories and pattern.match(tag):
            found = re.search(python_tag, tag) if python_tag else None
            if found:
                return replace(base, python_version=found.group(1))
            return base
    return None


def _created(base: Base | None, venv: str, make_venv: bool, workdir: str) -> ImageUser:
    """dockerize-ml's own app user, with the host's uid (APP_UID); a user of the base that
    holds uid 1000 is removed first, as Jupyter Docker Stacks do with Ubuntu's."""
    commands: list[str] = []
    notes: list[str] = []
    if base is not None and base.uid_1000:
        holder = base.uid_1000
        commands.append(f"if id -u {holder} >/dev/null 2>&1; then userdel --remove {holder}; fi")
        notes.append(
            f"{base.name}: the image's user {holder} holds uid 1000; it is removed so that the "
            "app user can take your uid (docker/build.sh passes it)"
        )
    home = f"/home/{APP_USER}"
    commands += [
        f'groupadd --gid "${{APP_UID}}" {APP_USER}',
        f'useradd --no-log-init --create-home --uid "${{APP_UID}}" --gid {APP_USER} {APP_USER}',
        f"mkdir -p {home}/.cache {workdir}",
        f"chown {APP_USER}:{APP_USER} {home}/.cache {workdir}",
    ]
    return ImageUser(
        name=APP_USER,
        group=APP_USER,
        uid=DEFAULT_UID,
        gid=DEFAULT_UID,
        home=home,
        uid_arg=True,
        commands=tuple(commands),
        switch_to_root=False,
        env=venv,
        make_env=make_venv,
        system_python=base is not None and not base.python,
        python_version=base.python_version if base else "",
        notes=tuple(notes),
    )


def image_user(image: str, venv: str, make_venv: bool, workdir: str) -> ImageUser:
    """The user and the environment for a Dockerfile ``FROM image``.

    A base whose own user runs it (Jupyter Docker Stacks' jovyan) keeps that user: its home
    and its environment belong to it. A base whose Python environment is what it is chosen
    for (the stacks' and pytorch/pytorch's /opt/conda) gets the packages installed there, so
    what it ships stays importable beside them.
    """
    base = find_base(image)
    user = _created(base, venv, make_venv, workdir)
    if base is None:
        return user
    # The image's own user keeps uid 1000: nothing is removed then.
    notes = list(user.notes) if base.user == "root" else []
    if base.env == "stack":
        user = replace(user, env=base.prefix, make_env=False)
        notes.append(
            f"{base.name}: the project's packages are installed into the image's own "
            f"environment ({base.prefix}), so the packages it ships stay importable beside them"
        )
    if base.user != "root":
        group = "users" if base.gid == 100 else base.user
        home = base.home
        user = replace(
            user,
            name=base.user,
            group=group,
            uid=DEFAULT_UID,
            gid=base.gid,
            home=home,
            uid_arg=False,
            commands=(
                f"mkdir -p {home}/.cache {workdir}",
                f"chown {base.user}:{group} {home}/.cache {workdir}",
            ),
            switch_to_root=True,
        )
        notes.append(
            f"{base.name}: the image runs as its own user {base.user} (uid 1000, gid "
            f"{base.gid}); the system packages are installed as root, and the image runs as "
            f"{base.user} again"
        )
    return replace(user, notes=tuple(notes))
