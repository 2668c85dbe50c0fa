"""A reply caught in a loop. A small model that starts repeating a passage word for word rarely
stops before its token cap: in the 12-task suite on ef0b7b4, 8 replies of the 1.5B model ran to
the cap that way (a design's approach restating two sentences, a file repeating one line), 9,000 of
the run's 33,000 generated tokens, about 12 minutes at 12 tokens/s. Stopped when the loop is plain,
such a reply costs a quarter of that, and its retry is told what went wrong."""

from __future__ import annotations

REPETITION = "repetition"
"""The finish reason of a reply stopped in a loop (beside the providers' ``stop`` and ``length``)."""
MIN_PERIOD = 20
"""The shortest passage counted: shorter repeats are table rows, separators and digits."""
MIN_SPAN = 600
"""How much text the repeats must cover, at least three copies: no reply of the suites' real runs
that ended on its own repeats a passage over this much; rows of legitimate data can, over less."""
WINDOW = 4000
"""The end of the reply that is looked at (the longest period is a third of it)."""


def looping(text: str) -> bool:
    """Whether ``text`` ends with one passage of at least ``MIN_PERIOD`` characters repeated back to
    back, at least three times and over at least ``MIN_SPAN`` characters."""
    text = text[-WINDOW:]
    n = len(text)
    probe = text[n - MIN_PERIOD :]
    end = n - 1
    # only where the last MIN_PERIOD characters occur earlier can the text repeat with that period:
    # found with str.rfind, a text that does not loop costs one scan instead of a Python loop per period
    while n >= 3 * MIN_PERIOD and (found := text.rfind(probe, 0, end)) >= 0:
        end = found + MIN_PERIOD - 1
        period = n - MIN_PERIOD - found
        if 3 * period > n:
            return False
        copies = max(3, -(-MIN_SPAN // period))
        if period < MIN_PERIOD or copies * period > n:
            continue
        tail = text[n - period :]
        if all(text[n - (k + 1) * period : n - k * period] == tail for k in range(1, copies)):
            return True
    return False
