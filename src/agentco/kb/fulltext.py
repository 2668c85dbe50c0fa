"""What the full-text index holds and how a question becomes an FTS5 query, in any language.

The index is SQLite FTS5 with the ``unicode61`` tokenizer and Porter stemming, so English words
match their inflections ("watering" finds "water"). Chinese (and Japanese) have no spaces between
words, so each run of CJK characters is indexed as its overlapping character pairs, the classic
CJK-bigram scheme: "仙人掌浇水" is indexed as "仙人 人掌 掌浇 浇水", and a question of two or more
characters matches pair by pair. A single CJK character cannot be a pair: a question holding one
is also looked up with LIKE over the chunks' text (``short_terms``).
"""

from __future__ import annotations

import re

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_WORD = re.compile(rf"[^\W{_CJK}]+|[{_CJK}]+")

# Words that say nothing about what is asked; dropped from questions (when anything else is left).
_ENGLISH = (
    "a an and are as at be been but by can could did do does for from had has have how i if in into is it its "
    "me my no not of on or our should so than that the their them then there these they this to was we were "
    "what when where which who whom why will with would you your about after before"
)
_CHINESE = "什么 怎么 如何 哪些 哪个 为什 么要 是什 可以 我们 你们 他们 一个 这个 那个 的是 了吗 吗"
STOPWORDS = frozenset(_ENGLISH.split())
CJK_STOPWORDS = frozenset(_CHINESE.split())


def index_terms(text: str) -> str:
    """The text as the index stores it: CJK runs become space-separated character pairs."""
    return _CJK_RUN.sub(lambda m: f" {' '.join(_pairs(m.group()))} ", text)


def _pairs(run: str) -> list[str]:
    return [run] if len(run) < 2 else [run[i : i + 2] for i in range(len(run) - 1)]


def query_terms(question: str) -> list[str]:
    """The terms of a question, in order and once each: words, and the pairs of each CJK run."""
    terms: list[str] = []
    for token in _WORD.findall(question.lower()):
        for term in _pairs(token) if _CJK_RUN.fullmatch(token) else [token]:
            if term not in terms:
                terms.append(term)
    meaningful = [t for t in terms if t not in STOPWORDS and t not in CJK_STOPWORDS]
    return meaningful or terms


def match_expression(terms: list[str]) -> str | None:
    """An FTS5 MATCH string that finds chunks holding any of the terms, best (by bm25) first."""
    quoted = ['"' + term.replace('"', '""') + '"' for term in terms if len(term) > 1 or not _is_cjk(term)]
    return " OR ".join(quoted) or None


def short_terms(terms: list[str]) -> list[str]:
    """Single CJK characters: the pair index cannot find them, LIKE can."""
    return [term for term in terms if len(term) == 1 and _is_cjk(term)]


def _is_cjk(term: str) -> bool:
    return bool(_CJK_RUN.fullmatch(term))
