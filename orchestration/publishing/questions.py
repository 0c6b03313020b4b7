"""The plant manager's five questions, loaded from `questions.sql` (one place for the SQL that
the README prints and the BI test runs)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

QUESTIONS_FILE = Path(__file__).with_name("questions.sql")

_BLOCK = re.compile(r"^-- name: (?P<name>\w+)\n-- title: (?P<title>.+)\n", re.MULTILINE)


@dataclass(frozen=True)
class Question:
    name: str
    title: str
    sql: str  # one statement, ending with ';'


@cache
def questions() -> dict[str, Question]:
    """name → Question, in the file's order."""
    text = QUESTIONS_FILE.read_text()
    matches = list(_BLOCK.finditer(text))
    found = {}
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(text)
        sql = text[match.end() : end].strip()
        if not sql.endswith(";") or sql.count(";") != 1:
            raise ValueError(f"question {match['name']} must be exactly one statement")
        found[match["name"]] = Question(match["name"], match["title"].strip(), sql)
    return found
