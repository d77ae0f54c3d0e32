"""Quoting for values RoomCal writes into PowerShell scripts and Exchange OPATH filters.

Only single-quoted strings are used for anything an admin typed: inside them PowerShell
expands nothing (no ``$var``, no ``$(...)``, no backtick escapes); the only special
character is the quote itself, written twice. PowerShell treats the typographic quotes
U+2018..U+201B exactly like ``'`` (a pasted U+2019 ends the string!), so all five are
doubled. Characters that can hide or reorder text (control, format, line/paragraph
separators) are refused outright rather than escaped.
"""

from __future__ import annotations

import unicodedata

SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def unsafe_characters(value: str) -> list[str]:
    """Code points PowerShell could mis-read or a reviewer could not see, as ``U+XXXX``."""
    return [f"U+{ord(ch):04X}" for ch in value if unicodedata.category(ch) in _REFUSED_CATEGORIES]


def _double_quotes(value: str) -> str:
    found = unsafe_characters(value)
    if found:
        raise ValueError(f"contains characters that are not allowed in a script: {', '.join(found)}")
    return "".join(ch * 2 if ch in SINGLE_QUOTES else ch for ch in value)


def ps_literal(value: str) -> str:
    """``value`` as a PowerShell single-quoted string literal that evaluates to exactly ``value``."""
    return "'" + _double_quotes(value) + "'"


def opath_literal(value: str) -> str:
    """``value`` as a quoted OPATH filter value (``'...'`` with quotes doubled).

    The OPATH text itself then goes into the script through :func:`ps_literal`, which
    doubles the quotes once more: two levels, each undone by its own parser.
    """
    return "'" + _double_quotes(value) + "'"
