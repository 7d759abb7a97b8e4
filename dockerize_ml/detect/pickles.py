"""Model files pickled by a release of a library: the image must install that release.

scikit-learn writes its release into every estimator it pickles (``_sklearn_version`` in
the estimator's state). A ``model.pkl`` made by scikit-learn 0.20 does not load under
today's release (``sklearn.linear_model.base`` is gone since 0.24), so a project that
declares nothing and loads its model at start needs ``scikit-learn==0.20.2``, and a Python
that release has wheels for. The file is read as bytes, never unpickled: the release is the
string that follows the key in the pickle stream (any protocol, raw or inside joblib's
numpy blocks), after gzip, bz2, xz or zlib compression is undone (joblib's ``compress=``).

The keys are the ``pickled`` table of knowledge/apis.toml.
"""

from __future__ import annotations

import bz2
import dataclasses
import lzma
import re
import zlib
from collections.abc import Callable

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from dockerize_ml import knowledge
from dockerize_ml.profile import Dependency
from dockerize_ml.scan import Scan

__all__ = ["MODEL_SUFFIXES", "model_pins", "pickled_release", "pin_warnings", "pinned_to"]

#: Files that hold pickled models (``pickle.dump``, ``joblib.dump``).
MODEL_SUFFIXES = (".pkl", ".pickle", ".joblib", ".sav", ".pck", ".pkl.gz", ".pkl.z")
#: How much of a model file is read, and how much it may decompress to: the release is
#: written with the estimator's state, within the first megabytes of all but huge ensembles.
READ_BYTES = 16 * 1024 * 1024
#: What may sit between a key and its value, skipped: memo puts (``q`` + 1 byte, ``r`` + 4
#: bytes, ``\x94``, protocol 0's ``p10``) and the end of protocol 0's line.
_MEMO = re.compile(rb"(?:q.|r....|\x94|p\d+\n|\n)", re.S)
_VERSION = re.compile(r"\d+(?:\.\d+){1,3}(?:(?:a|b|rc)\d+|\.post\d+|\.dev\d+)?")


def _decompressed(head: bytes) -> bytes:
    """The pickle stream of a model file: ``head`` itself, or what it decompresses to."""
    makers: list[tuple[bytes, Callable[[], object]]] = [
        (b"\x1f\x8b", lambda: zlib.decompressobj(16 + zlib.MAX_WBITS)),
        (b"BZh", bz2.BZ2Decompressor),
        (b"\xfd7zXZ", lzma.LZMADecompressor),
        (b"\x78\x01", zlib.decompressobj),
        (b"\x78\x5e", zlib.decompressobj),
        (b"\x78\x9c", zlib.decompressobj),
        (b"\x78\xda", zlib.decompressobj),
    ]
    if head.startswith(b"ZF"):  # joblib < 0.10: "ZF" and a length, then a zlib stream
        head = head[head.find(b"\x78", 2, 64) :] if b"\x78" in head[2:64] else head
    for magic, make in makers:
        if head.startswith(magic):
            decoder = make()
            try:
                out: bytes = decoder.decompress(head, READ_BYTES)  # type: ignore[attr-defined]
            except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError):
                return b""
            return out
    return head


def _string_after(data: bytes, at: int) -> str:
    """The string a pickle stream holds at ``at`` (after memo opcodes), or ""."""
    while match := _MEMO.match(data, at):
        at = match.end()
    op = data[at : at + 1]
    if op in (b"X", b"T"):  # BINUNICODE / BINSTRING: 4-byte length
        size = int.from_bytes(data[at + 1 : at + 5], "little")
        raw = data[at + 5 : at + 5 + min(size, 64)]
    elif op in (b"\x8c", b"U"):  # SHORT_BINUNICODE / SHORT_BINSTRING: 1-byte length
        size = data[at + 1] if len(data) > at + 1 else 0
        raw = data[at + 2 : at + 2 + size]
    elif op in (b"V", b"S"):  # protocol 0: to the end of the line, quoted for S
        end = data.find(b"\n", at, at + 80)
        raw = data[at + 1 : end].strip(b"'\"") if end > 0 else b""
    else:
        return ""
    return raw.decode("ascii", "replace")


def pickled_release(data: bytes, key: str) -> str:
    """The release written under ``key`` in a pickle (or joblib) file's bytes, or ""."""
    stream = _decompressed(data)
    needle = key.encode()
    at = stream.find(needle)
    while at >= 0:
        value = _string_after(stream, at + len(needle))
        if _VERSION.fullmatch(value):
            return value
        at = stream.find(needle, at + 1)
    return ""


def model_pins(scan: Scan) -> list[Dependency]:
    """One exact pin per library whose release a model file records (``scikit-learn==0.20.2``
    from ``model.pkl``), the first model file by path deciding; its ``detail`` says which
    file, and which others disagree."""
    keys: dict[str, str] = knowledge.load("apis")["pickled"]
    found: dict[str, list[tuple[str, str]]] = {}
    for rel in sorted(scan.files):
        if not rel.lower().endswith(MODEL_SUFFIXES):
            continue
        head = scan.read_head(rel, READ_BYTES)
        if not head:
            continue
        for dist, key in keys.items():
            release = pickled_release(head, key)
            if release:
                found.setdefault(dist, []).append((rel, release))
    pins: list[Dependency] = []
    for dist, where in found.items():
        rel, release = where[0]
        others = sorted({f"{r} ({v})" for r, v in where[1:] if v != release})
        detail = f"{rel} was pickled by {dist} {release}"
        if others:
            detail += f"; other releases in {', '.join(others)}"
        pins.append(Dependency(dist, f"=={release}", rel, detail=detail))
    return pins


def pinned_to(deps: tuple[Dependency, ...], pins: list[Dependency]) -> tuple[Dependency, ...]:
    """Inferred (unpinned) dependencies pinned to the release their model files record, or
    the code asserts (``pins``); one whose range excludes it is left alone."""
    by_name = {p.name: p for p in pins}
    return tuple(
        dataclasses.replace(
            d, specifier=pin.specifier, detail=f"{d.detail}; {pin.specifier}: {pin.detail}"
        )
        if (pin := by_name.get(d.name)) and not d.url and _allows(d.specifier, pin)
        else d
        for d in deps
    )


def _allows(specifier: str, pin: Dependency) -> bool:
    try:
        return SpecifierSet(specifier).contains(Version(pin.specifier[2:]), prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return False


def pin_warnings(declared: list[Dependency], pins: list[Dependency]) -> list[str]:
    """A declared dependency that lets in another release than its model files were
    pickled by: loading them may fail, or predict differently."""
    by_name = {d.name: d for d in declared}
    warnings: list[str] = []
    for pin in pins:
        dep = by_name.get(pin.name)
        if dep is None or dep.source == "inferred" or dep.url:
            continue
        if dep.specifier == pin.specifier:
            continue
        where = f"{dep.source}:{dep.line}" if dep.line else dep.source
        allows = dep.specifier or " (any version)"
        warnings.append(
            f"{pin.source}: {pin.detail}, but {where} allows {dep.name}{allows}: a pickled "
            f"model may not load, or may predict differently, under another release; pin "
            f"`{dep.name}{pin.specifier}` (or save the model again with the release you use)"
        )
    return warnings
