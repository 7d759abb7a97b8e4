"""Which image platforms CI builds (``--platform linux/amd64,linux/arm64``).

A platform is built where the project's dependencies install on it from wheels: environment
markers are evaluated for that platform's machine (``platform_machine == "aarch64"``), and each
exact pin the platform needs is looked up in the wheel facts the package index gave
(:mod:`dockerize_ml.wheelindex`). A pin without a wheel for the image's Python there would be
compiled from source under QEMU emulation (slow, and the image has no compiler): that platform
is left out, and the plan says why. What cannot be checked is said too: pins the index did not
answer for (offline), version ranges (only exact pins are looked up), conda environments.

Without ``--platform`` nothing changes: the image and CI are linux/amd64 only.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.markers import Marker
from packaging.utils import canonicalize_name

from dockerize_ml import knowledge
from dockerize_ml.install import InvalidSettingError
from dockerize_ml.profile import Dependency, ProjectProfile, pinned

__all__ = ["MARKER_ENV", "Platform", "PlatformPlan", "known", "marker_env", "plan_platforms"]

#: The image's platform, for evaluating environment markers of the dependencies.
MARKER_ENV = {
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "extra": "",
}


@dataclass(frozen=True)
class Platform:
    """One platform CI builds."""

    name: str  # Docker's name: linux/arm64
    machine: str  # platform_machine and the wheel tags' machine: aarch64
    qemu: bool  # emulated on an x86_64 runner

    @property
    def slug(self) -> str:
        """The name as one word for tags and cache scopes (linux-arm64)."""
        return self.name.replace("/", "-")


@dataclass(frozen=True)
class PlatformPlan:
    """The platforms CI builds (empty: the default linux/amd64 alone, as without the flag),
    those left out with why, and what could not be checked."""

    built: tuple[Platform, ...] = ()
    left_out: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def emulated(self) -> tuple[Platform, ...]:
        """The built platforms whose CPU CI emulates (QEMU): CI sets QEMU up for them."""
        return tuple(p for p in self.built if p.qemu)


def known() -> dict[str, Platform]:
    """The platforms of ``knowledge/platforms.toml``, by Docker's name."""
    rows = knowledge.load("platforms")["platforms"]
    return {name: Platform(name, str(r["machine"]), bool(r["qemu"])) for name, r in rows.items()}


def marker_env(python: str, machine: str = "x86_64") -> dict[str, str]:
    """The marker environment of the image's Python on ``machine``."""
    return {
        **MARKER_ENV,
        "platform_machine": machine,
        "python_version": python,
        "python_full_version": f"{python}.0",
    }


def _needed(dependencies: tuple[Dependency, ...], env: dict[str, str]) -> list[Dependency]:
    return [d for d in dependencies if not d.markers or Marker(d.markers).evaluate(env)]


def _check(profile: ProjectProfile, platform: Platform, python: str) -> tuple[str, str]:
    """Why ``platform`` cannot be built from wheels ("" when it can), and what was not
    checked there ("" when everything was)."""
    facts = {canonicalize_name(f.name): f for f in profile.wheel_facts}
    missing: list[str] = []
    unknown: list[str] = []
    for dep in _needed(profile.dependencies, marker_env(python, platform.machine)):
        version = pinned(dep)
        fact = facts.get(canonicalize_name(dep.name))
        if version is None or dep.url or fact is None or fact.version != version:
            continue
        answers = dict(fact.machines)
        if platform.machine not in answers:
            unknown.append(f"{dep.name}=={version}")
        elif python not in answers[platform.machine]:
            missing.append(f"{dep.name}=={version}")
    why = ""
    if missing:
        why = (
            f"no {platform.machine} wheel of {', '.join(missing)} for Python {python} "
            "(it would compile from source under emulation)"
        )
    unchecked = ""
    if unknown:
        unchecked = (
            f"{platform.name}: the package index gave no {platform.machine} wheels for "
            f"{', '.join(unknown)} (offline, or no answer), so they are not checked"
        )
    return why, unchecked


def plan_platforms(
    profile: ProjectProfile, requested: tuple[str, ...], python: str, conda: bool
) -> PlatformPlan:
    """The platforms CI builds out of ``requested``, each checked for wheels."""
    if not requested:
        return PlatformPlan()
    platforms = known()
    unknown = [p for p in requested if p not in platforms]
    if unknown:
        raise InvalidSettingError(
            f"--platform {unknown[0]!r} is not one of {', '.join(platforms)}",
            "for example --platform linux/amd64,linux/arm64",
        )
    built: list[Platform] = []
    left_out: list[tuple[str, str]] = []
    notes: list[str] = []
    for name in dict.fromkeys(requested):
        platform = platforms[name]
        if not platform.qemu:
            built.append(platform)  # the runner's own: its smoke test is the real one
            continue
        why, unchecked = _check(profile, platform, python)
        if why:
            left_out.append((name, why))
            notes.append(f"{name} is not built in CI: {why}")
            continue
        built.append(platform)
        if unchecked:
            notes.append(unchecked)
    if not built:
        notes.append(f"none of {', '.join(requested)} can be built in CI; it builds linux/amd64")
    if conda and any(p.qemu for p in built):
        notes.append("the conda environment's packages are not checked per platform")
    if any(p.qemu for p in built) and any(not pinned(d) for d in profile.dependencies):
        notes.append("only exact pins (==) are checked for wheels per platform")
    return PlatformPlan(tuple(built), tuple(left_out), tuple(notes))
