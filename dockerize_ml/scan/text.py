"""Bytes as text, as pip reads a requirements file: UTF-8 (with or without a byte-order
mark), UTF-16 with one; anything else is :class:`UndecodableError`, with the line."""

from __future__ import annotations

import codecs


class UndecodableError(ValueError):
    """Bytes that are not text dockerize-ml (and pip, uv, Python) can read; ``reason`` says
    why, with the line."""

    def __init__(self, reason: str, binary: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.binary = binary


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode(data: bytes) -> tuple[str, str]:
    """The text of a file's bytes, as pip reads a requirements file (UTF-8, with or without a
    byte-order mark; UTF-16 with one), and a note when the encoding deserves one.

    Raises :class:`UndecodableError` for anything else: NUL bytes (a binary file, or UTF-16
    without a byte-order mark, which pip would read as UTF-8 and fail on) and bytes that are
    not UTF-8 (a Latin-1 comment: the image's pip and uv read UTF-8 and stop there).
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:  # PowerShell 5's `pip freeze > requirements.txt` writes UTF-16
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise UndecodableError(
                f"not UTF-16 text, though it starts with UTF-16's byte-order mark "
                f"(at byte {exc.start})",
                binary=True,
            ) from None
        if "\x00" in text:
            raise UndecodableError("NUL characters in UTF-16 text", binary=True)
        note = (
            "UTF-16 text (as PowerShell's `>` writes it); read, but re-save it "
            "as UTF-8: the image's sed edits of dependency files need UTF-8"
        )
        return text, note
    nul = data.find(b"\x00")
    if nul >= 0:
        head = data[:4096]
        odd = head[1::2].count(0) > len(head) // 4 or head[0::2].count(0) > len(head) // 4
        if odd:
            raise UndecodableError(
                "UTF-16 text without a byte-order mark, which pip and uv read as UTF-8 and fail on",
                binary=True,
            )
        raise UndecodableError(
            f"binary: a NUL byte on line {_line_at(data, nul)}, which no text file holds",
            binary=True,
        )
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if data.startswith(codecs.BOM_UTF8) else 0)
        raise UndecodableError(
            f"not UTF-8 text (byte 0x{data[start]:02x} on line {_line_at(data, start)}; "
            "a Latin-1 or Windows-1252 character?), and pip and uv in the image read UTF-8"
        ) from None
