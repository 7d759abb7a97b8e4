"""The ``detect`` report: each fact of the profile with its evidence, as text."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockerize_ml.profile import ProjectProfile


def _describe_dependencies(profile: ProjectProfile) -> list[str]:
    """The dependency part of the ``detect`` report."""
    lines: list[str] = []
    used = [s for s in profile.dependency_sources if s.used]
    ignored = [s for s in profile.dependency_sources if not s.used]
    source = ", ".join(f"{s.path} ({s.kind})" for s in used) or "none declared"
    if used and used[0].lock:
        source += ", locked"
    lines.append(f"  Dependencies  {len(profile.dependencies)} from {source}")
    for dep in profile.dependencies:
        where = f"{dep.source}:{dep.line}" if dep.line else dep.source
        spec = f"{dep.name}{dep.specifier}" + (f"; {dep.markers}" if dep.markers else "")
        lines.append(f"                  {spec:<40} {where}")
    for src in ignored:
        lines.append(f"                  not used: {src.path} ({src.kind})")
    optional = [f"extra {n}" for n in profile.extras_available]
    optional += [f"group {n}" for n in profile.groups_available]
    if optional:
        lines.append(f"  Optional      {', '.join(optional)} (--extra / --group to install)")
    for local in profile.local_installs:
        lines.append(
            f"  Local install {local.path}{' (editable)' if local.editable else ''}"
            f" after the code  ({local.evidence.path}:{local.evidence.line})"
        )
    if profile.conda is not None:
        how = "pip" if profile.conda.pip_installable else "micromamba"
        cuda = f" (CUDA {profile.conda.cuda})" if profile.conda.cuda else ""
        lines.append(f"  Conda         {profile.conda.path}: {how}, {profile.conda.reason}{cuda}")
    if profile.build_secrets:
        lines.append(f"  Build secrets {', '.join(profile.build_secrets)} (BuildKit secrets)")
    if profile.needs_git:
        lines.append("  System        git (VCS requirements, build time)")
    if profile.package is not None:
        lines.append(
            f"  Package       installed after the code with {profile.package.build_backend}"
            f"  ({profile.package.evidence})"
        )
    return lines


def _describe(profile: ProjectProfile) -> str:
    """The human-readable report of ``detect``: each fact with its evidence."""
    lines = [f"Project {profile.name} at {profile.root}"]
    evidence = ", ".join(str(e) for e in profile.python_version_evidence) or "no file names one"
    lines.append(f"  Python        {profile.python_version}  ({evidence})")
    if profile.wheel_facts:
        read = {"pypi": "PyPI", "knowledge": "knowledge/python.toml (offline)"}
        where = " and ".join(
            read.get(s, s) for s in sorted({f.source for f in profile.wheel_facts})
        )
        lines.append(f"  Wheels        {len(profile.wheel_facts)} exact pins, read from {where}")
    lines += _describe_dependencies(profile)
    if profile.frameworks:
        lines.append(f"  Frameworks    {', '.join(profile.frameworks)}")
    gpu = "yes" if profile.gpu.uses_cuda else "no"
    gpu_why = ", ".join(str(e) for e in profile.gpu.evidence)
    lines.append(f"  CUDA          {gpu}" + (f"  ({gpu_why})" if gpu_why else ""))
    build = profile.cuda_build
    compiled = [r.name for r in build.requirements]
    compiled += ["the project's CUDAExtension"] if build.project else []
    compiled += [f"{folder} (CUDAExtension)" for folder in build.folders]
    if compiled:
        lines.append(
            f"  CUDA build    {', '.join(compiled)}  (compiled in an nvidia/cuda devel stage)"
        )
    if profile.entrypoint is not None:
        ep = profile.entrypoint
        why = ", ".join(str(e) for e in ep.evidence)
        lines.append(f"  Entry point   {shlex.join(ep.command)}  ({why})")
        for alt in profile.entrypoint_alternatives:
            lines.append(f"    or          {shlex.join(alt.command)}  ({alt.kind})")
    else:
        lines.append("  Entry point   none found (pass --entry)")
    if profile.ports:
        lines.append(f"  Ports         {', '.join(map(str, profile.ports))}")
    for package in profile.system_packages:
        why = ", ".join(str(e) for e in package.evidence[:2])
        lines.append(f"  System ({package.stage:<5}) {package.name}  ({why})")
    if profile.undeclared_imports:
        lines.append(f"  Undeclared    {', '.join(profile.undeclared_imports)}")
    lines += [
        f"  Bounded       {b.name}{b.specifier}  ({b.detail})" for b in profile.release_bounds
    ]
    if profile.notebooks:
        lines.append(
            f"  Notebooks     {len(profile.notebooks)}: {', '.join(profile.notebooks[:5])}"
        )
    if profile.data_dirs:
        lines.append(f"  Data          {', '.join(profile.data_dirs)} (mounted read-only)")
    if profile.output_dirs:
        lines.append(f"  Outputs       {', '.join(profile.output_dirs)} (mounted writable)")
    if profile.env_files:
        lines.append(f"  Secrets       {', '.join(profile.env_files)} (kept out of the image)")
    for path, ev in zip(profile.runtime_files, profile.runtime_file_evidence, strict=True):
        lines.append(f"  Runtime file  {path} stays in the image  ({ev})")
    for warning in profile.warnings:
        lines.append(f"warning: {warning}")
    return "\n".join(lines)
