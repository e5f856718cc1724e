"""Query parsing: the words of ``q`` (no syntax) and the filters, as full-text terms."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property

from meshlake.governance.services._search._model import _WORD, MAX_TERM_CHARS, MAX_TERMS


@dataclass(frozen=True)
class Query:
    """The words of a search box: every one must match, the last as a prefix if ``prefix``."""

    words: tuple[str, ...]
    prefix: bool
    text: str

    @classmethod
    def parse(cls, q: str) -> Query:
        """The words of ``q``, each once (a repeat adds nothing to "every word matches")."""
        found = [word.lower() for word in _WORD.findall(q)]
        prefix = bool(found) and not q[-1:].isspace()
        words = list(dict.fromkeys(found))
        if prefix and found[-1] in found[:-1]:
            words.remove(found[-1])  # the whole word is stricter than the same word as a prefix
            words.append(found[-1])
            prefix = False
        if len(words) > MAX_TERMS:
            words, prefix = words[:MAX_TERMS], False  # the partial word was cut off
        return cls(tuple(words), prefix=prefix, text=q.strip().lower())

    @property
    def impossible(self) -> bool:
        """A word too long to be in any document (PostgreSQL drops such words from tsvectors)."""
        return any(len(word) > MAX_TERM_CHARS for word in self.words)

    def word_matches(self, token: str, position: int) -> bool:
        word = self.words[position]
        last = position == len(self.words) - 1
        return token.startswith(word) if last and self.prefix else token == word

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """The query's words as whole words (the last one as a prefix), for highlighting."""
        alternatives = [re.escape(word) for word in self.words]
        if self.prefix:
            alternatives[-1] += r"[^\W_]*"
        return re.compile(rf"(?<![^\W_])(?:{'|'.join(alternatives)})(?![^\W_])", re.IGNORECASE)

    def tier(self, name: str) -> tuple[int, int]:
        """(0, 0) for an exact name; (1, extra words) for a name prefix; (2, 0) otherwise.

        Among name prefixes, fewer extra words first: "emplo" completes to ``employees``
        before ``employee_id``.
        """
        if not self.words:
            return 2, 0
        lowered = name.lower()
        if self.words[0] not in lowered:  # the common case, and cheap to rule out
            return 2, 0
        tokens = _WORD.findall(lowered)
        if tuple(tokens) == self.words or lowered.strip() == self.text:
            return 0, 0
        if len(tokens) >= len(self.words) and all(
            self.word_matches(token, position)
            for position, token in enumerate(tokens[: len(self.words)])
        ):
            return 1, len(tokens) - len(self.words)
        return 2, 0

    def name_range(self) -> tuple[str, str]:
        """Names starting with the words joined the identifier way (``customer_ch``)."""
        low = "_".join(self.words)
        following = ord(low[-1]) + 1
        if 0xD800 <= following <= 0xDFFF:  # no surrogates in UTF-8
            following = 0xE000
        return low, low[:-1] + chr(following)


@dataclass(frozen=True)
class Filters:
    kind: str | None = None
    domain: str | None = None
    classification: str | None = None
    owner: str | None = None
    tag: str | None = None

    def __bool__(self) -> bool:
        return any(value is not None for value in self.fields())

    def fields(self) -> tuple[str | None, ...]:
        return (self.kind, self.domain, self.classification, self.owner, self.tag)

    def tokens(self) -> list[str]:
        """SQLite's facet tokens for these values (see the migration): a letter and the hex of
        the value's UTF-8 bytes, one unicode61 token whatever the value holds."""
        return [
            letter + value.encode().hex()
            for letter, value in zip("kdcot", self.fields(), strict=True)
            if value is not None
        ]

    def lexemes(self) -> list[str]:
        """PostgreSQL's facet lexemes (``search_facet_lexemes`` in the migration)."""
        return [
            f"{letter}:{hashlib.md5(value.encode(), usedforsecurity=False).hexdigest()}"
            for letter, value in zip("kdcot", self.fields(), strict=True)
            if value is not None
        ]
