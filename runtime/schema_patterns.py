"""The schema's regex patterns as plain predicates, for the generated
validator: `import re` (enum and functools come with it) costs more than
validating a whole config. A pattern missing here still works: it is
compiled with re on first use. tests/unit/test_schema_patterns.py checks
each predicate against re."""

_DIGITS = "0123456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ALNUM_HYPHEN = _DIGITS + "abcdefghijklmnopqrstuvwxyz" + _UPPER + "-"


def _all_in(s: str, chars: str) -> bool:
    return all(c in chars for c in s)


def _number(s: str, first: str = _DIGITS) -> bool:
    return bool(s) and s[0] in first and _all_in(s[1:], _DIGITS)


def semver(s: str) -> bool:
    """SemVer 2.0.0, as the schema's ociVersion pattern spells it."""
    s, plus, build = s.partition("+")
    if plus and not all(part and _all_in(part, _ALNUM_HYPHEN) for part in build.split(".")):
        return False
    core, dash, pre = s.partition("-")
    parts = core.split(".")
    if len(parts) != 3 or not all(p == "0" or _number(p, "123456789") for p in parts):
        return False
    if not dash:
        return True
    for ident in pre.split("."):
        if not ident or not _all_in(ident, _ALNUM_HYPHEN):
            return False
        if _all_in(ident, _DIGITS) and len(ident) > 1 and ident[0] == "0":
            return False  # numeric identifiers have no leading zero
    return True


SEMVER = (r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
          r"(\.(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*)?(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?(?!\n)\Z")

# Keyed by the source fastjsonschema compiles (it turns a trailing $ into
# (?!\n)\Z, as JSON Schema's ECMA-262 semantics want).
PREDICATES = {
    r"^/": lambda s: s.startswith("/"),
    r"^MB:(?![\s\S]*\n)": lambda s: s.startswith("MB:") and "\n" not in s,
    r"^(?![\s\S]*\n)": lambda s: "\n" not in s,
    r"^[rwm]*(?!\n)\Z": lambda s: _all_in(s, "rwm"),
    r"^[1-9][0-9]*[KMG]B(?!\n)\Z": lambda s: len(s) >= 3 and s[-1] == "B" and s[-2] in "KMG"
    and _number(s[:-2], "123456789"),
    r"^RLIMIT_[A-Z]+(?!\n)\Z": lambda s: s.startswith("RLIMIT_") and len(s) > 7 and _all_in(s[7:], _UPPER),
    r"^[0-9, -]*(?!\n)\Z": lambda s: _all_in(s, _DIGITS + ", -"),
    SEMVER: semver,
}


class Pattern:
    """What the generated code calls re.compile(source) for: only .search."""

    __slots__ = ("source", "_search")

    def __init__(self, source: str) -> None:
        self.source = source
        self._search = PREDICATES.get(source)

    def search(self, s: str):
        if self._search is None:
            import re

            self._search = re.compile(self.source).search
        return self._search(s)
