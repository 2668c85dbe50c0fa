"""A reply caught in a loop is recognised early; legitimate repetition in code and data is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentco.llm.repetition import MIN_SPAN, looping

TASKS = Path(__file__).resolve().parents[2] / "shared" / "bench" / "tasks"

# the shape of the kvstore design on ef0b7b4: two sentences restated until the token cap
SENTENCES = (
    "The package directory `kvstore/` must sit at the project root. The implementation uses a JSON "
    "file to store the key-value pairs. "
)


def test_a_restated_passage_is_a_loop_once_its_copies_cover_the_span():
    start = '{"implementation_approach": "Standard library only. '
    reply = start + SENTENCES * 30  # about 1,000 tokens: what the 1.5B model generated, three times
    stopped = next(end for end in range(16, len(reply) + 1, 16) if looping(reply[:end]))
    assert stopped <= len(start) + max(3 * len(SENTENCES), MIN_SPAN) + len(SENTENCES)
    assert stopped < len(reply) / 3


def test_a_repeated_line_of_code_is_a_loop():
    line = "        anchor = re.sub(r'^-+', '', anchor)\n"
    assert looping("def slug(anchor):\n" + line * 15)
    assert not looping("def slug(anchor):\n" + line * 2)


@pytest.mark.parametrize(
    "text",
    [
        "| a | b |\n|---|---|\n" + "| 1 | 2 |\n" * 40,
        "    (1000, 'M'), (900, 'CM'), (500, 'D'), (400, 'CD'), (100, 'C'), (90, 'XC'),\n" * 2,
        "x = 1\n" * 60,  # repeats covering less than the span
        "def f(a):\n    return a\n\n\ndef g(b):\n    return b\n",
        "",
    ],
)
def test_short_repeats_and_plain_code_are_not_loops(text: str):
    assert not looping(text)


def test_no_reference_solution_of_the_public_tasks_reads_as_a_loop():
    sources = sorted(TASKS.glob("*/reference/**/*.py")) + sorted(TASKS.glob("*/test_acceptance.py"))
    if not sources:
        pytest.skip("the shared benchmark tasks are not beside this checkout")
    for path in sources:
        text = path.read_text(encoding="utf-8")
        assert not any(looping(text[:end]) for end in range(100, len(text) + 1, 40)), path
