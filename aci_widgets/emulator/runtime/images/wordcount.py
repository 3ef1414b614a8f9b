"""Built-in ``mcr.microsoft.com/azuredocs/aci-wordcount``: the most common words of a text.

Like the real image (``python wordcount.py [URL]`` in its working directory), it reads its text, counts
words, prints the top ``NumWords`` (default 10) words of at least ``MinLength`` (default 0) characters as a
pretty-printed list of ``(word, count)`` tuples, and exits 0. With a URL it counts the page's words; when
the URL cannot be fetched (the emulator is offline by design, ACI is not) it counts the text bundled next to
it instead: a public-domain excerpt of Shakespeare's Hamlet, the real image's default text. With
``ACI_EMULATOR_OFFLINE=1`` in the emulator's environment it never tries (the tests: no outbound traffic).
Standalone (the standard library only): the catalogue copies it and ``hamlet.txt`` into the container's
working directory.
"""

from __future__ import annotations

import html
import os
import re
import sys
import urllib.request
from collections import Counter
from pathlib import Path
from pprint import pprint

TEXT_PATH = Path(__file__).with_name("hamlet.txt")
WORD_RE = re.compile(r"[A-Za-z']+")
TAG_RE = re.compile(r"<[^>]*>")
FETCH_TIMEOUT_SECONDS = 5


def top_words(text: str, num_words: int, min_length: int) -> list[tuple[str, int]]:
    words = (word.strip("'") for word in WORD_RE.findall(text))
    counts = Counter(word for word in words if word and len(word) >= min_length)
    return counts.most_common(num_words)


def _int_env(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def read_text(url: str | None) -> str:
    """The words to count: the page at ``url`` (tags removed), else the bundled text."""
    if url and os.environ.get("ACI_EMULATOR_OFFLINE") != "1":  # the emulator's offline knob
        try:
            with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:
                page = response.read(8 * 1024 * 1024).decode("utf-8", errors="replace")
            return html.unescape(TAG_RE.sub(" ", page))
        except (OSError, ValueError):
            pass  # offline: count the bundled text, as the image counts its default one
    return TEXT_PATH.read_text(encoding="utf-8")


def main(argv: list[str]) -> int:
    num_words = _int_env("NumWords", 10)
    min_length = _int_env("MinLength", 0)
    pprint(top_words(read_text(argv[1] if len(argv) > 1 else None), num_words, min_length))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
