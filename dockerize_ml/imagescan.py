"""Secrets in a built image: every layer above the base image, read as Docker saved it.

The build context is the first line of defence (``.dockerignore``); this is the proof. The
layers that the Dockerfile added (not the base image's) are read from ``docker save``; every file
under the folders the project is copied to is checked by name and, when small, by content with
the same rules as the context (``detect/secrets.py``), and every layer, the image's environment
and its history are searched for the values of the project's ``.env`` files.
"""

from __future__ import annotations

import json
import re
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from dockerize_ml.detect import secrets

#: Where the generated Dockerfile copies the project and the folders it installs.
APP_DIRS = ("app/", "opt/src/")
_SECRET_NAME = re.compile(r"(?i)pass|pwd|secret|token|key|auth|credential|cookie|session")
#: A value of a .env file shorter than this is too common to search for (``1``, ``true``).
MIN_VALUE_LENGTH = 8


@dataclass
class ImageSecrets:
    """What the check found, and how much it read."""

    findings: list[str] = field(default_factory=list)
    #: Found by content in the project's own code (a module holding a key): the code must be
    #: in the image, so this is said, as `init` said it, and does not fail the check.
    in_code: list[str] = field(default_factory=list)
    layers: int = 0
    files: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings


def dotenv_pairs(text: str) -> Iterator[tuple[str, str]]:
    """The ``NAME=value`` lines of a dotenv file as ``docker run --env-file`` reads them: the
    name without ``export``, the value as written (quotes and spaces kept); comments, blank
    lines and bare names (``NAME``, taken from the caller's environment there) skipped."""
    for raw in text.splitlines():
        line = raw.lstrip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        yield name.removeprefix("export ").strip(), value


def env_values(texts: Iterable[str]) -> list[str]:
    """The values of dotenv files (``KEY=value``, ``export KEY="value"``) worth searching for."""
    values: list[str] = []
    for text in texts:
        for key, raw_value in dotenv_pairs(text):
            value = raw_value.strip().strip("'\"")
            # A model name or a data path is no secret: only values named like one, or that
            # look like a credential, are searched for.
            secret = _SECRET_NAME.search(key) is not None or secrets.assigned_secret(value)
            if len(value) >= MIN_VALUE_LENGTH and secret and value not in values:
                values.append(value)
    return values


def _layers(saved: tarfile.TarFile, skip: int) -> Iterator[IO[bytes]]:
    """The layer archives of a ``docker save`` tarball, in order, past the first ``skip``."""
    manifest_member = saved.extractfile("manifest.json")
    if manifest_member is None:
        return
    manifest = json.load(manifest_member)
    for name in manifest[0]["Layers"][skip:]:
        member = saved.extractfile(name)
        if member is not None:
            yield member


def _check_layer(layer: IO[bytes], values: list[str], result: ImageSecrets) -> None:
    with tarfile.open(fileobj=layer, mode="r|*") as files:
        for member in files:
            if not member.isfile():
                continue
            path = member.name.removeprefix("./")
            in_app = path.startswith(APP_DIRS)
            small = member.size <= secrets.MAX_CONTENT_BYTES
            if not (in_app or (values and small)):
                continue
            result.files += 1
            if in_app:
                rel = path.split("/", 1)[1] if path.startswith("app/") else path
                rule = secrets.secret_by_name(rel)
                if rule is not None:
                    result.findings.append(f"/{path}: {rule.why}")
                    continue
            if not small:
                continue
            handle = files.extractfile(member)
            data = handle.read() if handle is not None else b""
            text = data.decode("utf-8", errors="replace")
            if in_app and b"\0" not in data[:8192]:
                found = secrets.secrets_in_text(path, text)
                if found:
                    where = result.in_code if secrets.is_code(rel) else result.findings
                    where.append(f"/{path}:{found[0].line}: {found[0].why}")
            if any(v in text for v in values):
                result.findings.append(f"/{path}: holds a value of the project's .env")


def scan_image(engine: Any, tag: str, base: str | None, env_texts: Iterable[str]) -> ImageSecrets:
    """Check the layers of ``tag`` above ``base`` (when the engine has it) for secrets."""
    image = engine.images.get(tag)
    values = env_values(env_texts)
    skip = 0
    if base:
        try:
            base_layers = engine.images.get(base).attrs["RootFS"]["Layers"]
        except Exception:  # the base is not here: every layer is read
            base_layers = []
        own = image.attrs["RootFS"]["Layers"]
        while skip < min(len(base_layers), len(own)) and base_layers[skip] == own[skip]:
            skip += 1
    result = ImageSecrets()
    config = image.attrs.get("Config") or {}
    exposed = [*(config.get("Env") or []), *(str(h.get("CreatedBy", "")) for h in image.history())]
    for text in exposed:
        if any(v in text for v in values):
            result.findings.append(f"image config or history: {text[:60]}... holds a .env value")
        found = secrets.secrets_in_text("config", text)
        if found:
            result.findings.append(f"image config or history: {found[0].why}")
    with tempfile.TemporaryDirectory(prefix="dockerize-ml-save-") as folder:
        archive = Path(folder) / "image.tar"
        with archive.open("wb") as out:
            for chunk in image.save(named=False):
                out.write(chunk)
        with tarfile.open(archive) as saved:
            for layer in _layers(saved, skip):
                result.layers += 1
                _check_layer(layer, values, result)
    return result
