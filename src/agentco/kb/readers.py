"""Files into plain text: text and Markdown as they are, HTML through the standard library's parser,
PDF through pypdf (the ``kb`` extra). A file of another kind is refused with the kinds that are read."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from agentco.errors import ConfigError, MissingExtraError

TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown", ".rst", ".csv", ".json", ".yaml", ".yml", ".log"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
PDF_SUFFIXES = frozenset({".pdf"})
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES


def is_readable(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


def read_text(path: Path, data: bytes) -> str:
    """The text of ``path``, whose bytes (already read, and hashed by the caller) are ``data``."""
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return _decode(data)
    if suffix in HTML_SUFFIXES:
        return html_text(_decode(data))
    if suffix in PDF_SUFFIXES:
        return pdf_text(path, data)
    kinds = ", ".join(sorted(SUFFIXES))
    raise ConfigError(f"cannot read {path}: a knowledge base reads only these kinds of file: {kinds}")


def _decode(data: bytes) -> str:
    # Text files in the wild are mostly UTF-8; a stray byte should cost a character, not the file.
    return data.decode("utf-8-sig", errors="replace")


class _HTMLText(HTMLParser):
    """The visible text of a page, with a line break wherever a block element starts or ends."""

    SKIP = frozenset({"script", "style", "noscript", "template", "svg"})
    BLOCKS = frozenset(
        {"p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "li", "ul", "ol", "table",
         "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "br", "hr", "dd", "dt",
         "figcaption", "title"}
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n\n" if tag not in {"br", "td", "th", "li"} else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self.BLOCKS and tag not in {"td", "th", "li"}:  # a list item or a cell is a line
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    paragraphs, current = [], []
    for line in lines:  # blank lines separate paragraphs; runs of them collapse to one
        if line:
            current.append(line)
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    return "\n\n".join(paragraphs)


def pdf_text(path: Path, data: bytes) -> str:
    try:
        import io

        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ModuleNotFoundError as exc:
        if exc.name != "pypdf":
            raise
        raise MissingExtraError("pypdf (needed to read PDF files)", "kb") from None
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError) as exc:
        raise ConfigError(f"cannot read {path} as a PDF: {exc}") from None
    return "\n\n".join(page.strip() for page in pages if page.strip())
