"""Built-in ``mcr.microsoft.com/azuredocs/aci-wordcount``: the most common words of Hamlet.

Like the real image, it reads its text, counts words, prints the top ``NumWords`` (default 10) words of at
least ``MinLength`` (default 0) characters as a pretty-printed list of ``(word, count)`` tuples, and exits 0.
The text is a public-domain excerpt of Shakespeare's Hamlet bundled next to this module.
"""

from __future__ import annotations

import os
import re
import sys
from collections import Counter
from pathlib import Path
from pprint import pprint

TEXT_PATH = Path(__file__).with_name("hamlet.txt")
WORD_RE = re.compile(r"[A-Za-z']+")


def top_words(text: str, num_words: int, min_length: int) -> list[tuple[str, int]]:
    words = (word.strip("'") for word in WORD_RE.findall(text))
    counts = Counter(word for word in words if word and len(word) >= min_length)
    return counts.most_common(num_words)


def _int_env(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def main() -> int:
    num_words = _int_env("NumWords", 10)
    min_length = _int_env("MinLength", 0)
    pprint(top_words(TEXT_PATH.read_text(encoding="utf-8"), num_words, min_length))
    return 0


if __name__ == "__main__":
    sys.exit(main())
