"""Text into overlapping chunks that keep paragraphs whole where they fit.

A chunk is at most ``size`` characters. Paragraphs (blank-line separated) are packed whole; a
paragraph longer than a chunk is split between sentences (English and Chinese end marks), and a
sentence longer than a chunk between words. Each chunk after the first starts with the last pieces
of the one before, up to ``overlap`` characters, so a passage cut at a border is still whole in one
of the two. A Markdown heading left at the end of a chunk moves to the next, beside its text.
"""

from __future__ import annotations

import re

SIZE = 700
OVERLAP = 150

_PARAGRAPHS = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?;。！？；])\s+|(?<=[。！？；])")


def chunk_text(text: str, size: int = SIZE, overlap: int = OVERLAP) -> list[str]:
    if size < 50 or not 0 <= overlap < size // 2:
        raise ValueError(f"chunk size {size} and overlap {overlap} do not fit (size >= 50, overlap < size/2)")
    pieces = list(_pieces(text, size))
    chunks: list[str] = []
    current: list[tuple[str, str]] = []  # (joiner before it, text)
    for piece in pieces:
        if current and _length(current) + len(piece[0]) + len(piece[1]) > size:
            carried = _heading_tail(current)
            chunks.append(_join(current[: len(current) - len(carried)] or current))
            current = carried or _overlap(current, overlap, size - len(piece[1]) - 2)
        current.append(piece if current else ("", piece[1]))
    if current:
        chunks.append(_join(current))
    return [c for c in chunks if c.strip()]


def _pieces(text: str, size: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for paragraph in _PARAGRAPHS.split(text.replace("\r\n", "\n")):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if len(paragraph) <= size:
            out.append(("\n\n", paragraph))
            continue
        joiner = "\n\n"
        for sentence in (s.strip() for s in _SENTENCE_END.split(paragraph)):
            for part in _split_long(sentence, size) if sentence else ():
                out.append((joiner, part))
                joiner = "" if _is_cjk(part[-1]) else " "
    return out


def _split_long(sentence: str, size: int) -> list[str]:
    """A sentence longer than a chunk, cut between words (or anywhere, in text without spaces)."""
    parts = []
    while len(sentence) > size:
        cut = sentence.rfind(" ", size // 2, size)
        cut = cut if cut > 0 else size
        parts.append(sentence[:cut].rstrip())
        sentence = sentence[cut:].lstrip()
    return [*parts, sentence] if sentence else parts


def _overlap(pieces: list[tuple[str, str]], overlap: int, room: int) -> list[tuple[str, str]]:
    """The last whole pieces of a chunk that fit in ``overlap`` characters (and in the room left)."""
    limit = min(overlap, room)
    kept: list[tuple[str, str]] = []
    for piece in reversed(pieces):
        if _length([piece, *kept]) > limit:
            break
        kept.insert(0, piece)
    if kept:
        return kept
    tail = pieces[-1][1][-limit:] if limit > 0 else ""
    cut = tail.find(" ")
    tail = tail[cut + 1 :] if 0 <= cut < len(tail) // 2 else tail
    return [("", tail)] if tail.strip() else []


def _heading_tail(pieces: list[tuple[str, str]]) -> list[tuple[str, str]]:
    if len(pieces) > 1 and pieces[-1][0] == "\n\n" and pieces[-1][1].startswith("#"):
        return [pieces[-1]]
    return []


def _length(pieces: list[tuple[str, str]]) -> int:
    return len(_join(pieces))


def _join(pieces: list[tuple[str, str]]) -> str:
    return "".join(joiner + text for joiner, text in pieces).strip()


def _is_cjk(char: str) -> bool:
    return "\u2e80" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff" or "\u3000" <= char <= "\u303f"
