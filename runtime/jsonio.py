"""JSON without importing the json package.

`import json` pulls in `re` (~5 ms); every subcommand reads or writes state
JSON, so the hot path uses the C scanner/encoder from `_json` directly. The
output matches json.dumps(..., separators=(",", ":")) / indent=None."""


import sys

import _json
import math

_ESCAPE = _json.encode_basestring_ascii


class _Context:
    # The attributes c_make_scanner reads from a JSONDecoder.
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict = {}

    @staticmethod
    def parse_constant(name: str) -> float:
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]


_scan = _json.make_scanner(_Context())
_WS = " \t\n\r"


class JSONError(ValueError):
    pass


def _line_col(doc: str, pos: int) -> str:
    line = doc.count("\n", 0, pos) + 1
    col = pos - doc.rfind("\n", 0, pos)
    return f"line {line} column {col}"


def loads(doc: str | bytes) -> object:
    """Parse a JSON document; JSONError names line and column on failure."""
    if isinstance(doc, (bytes, bytearray)):
        try:
            doc = doc.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONError(f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    if doc.startswith("\ufeff"):
        doc = doc[1:]
    pos = len(doc) - len(doc.lstrip(_WS))
    try:
        value, end = _scan(doc, pos)
    except StopIteration as exc:
        where = exc.value if isinstance(exc.value, int) else pos
        if where >= len(doc):
            raise JSONError("unexpected end of document") from None
        raise JSONError(f"invalid JSON at {_line_col(doc, where)}") from None
    except ValueError as exc:
        what = str(exc).split(": line")[0].removesuffix(" at")
        raise JSONError(f"{what} at {_line_col(doc, getattr(exc, 'pos', pos) or pos)}") from None
    except RecursionError:
        raise JSONError("nested too deeply") from None
    except SystemError:
        # The C scanner raises some errors through json.decoder, which this
        # module never imports (it costs ms on every command): import it now
        # that there is an error to report, and scan again for its message.
        if "json.decoder" in sys.modules:
            raise JSONError(f"invalid JSON at {_line_col(doc, pos)}") from None
        import json.decoder  # noqa: F401

        return loads(doc)
    rest = len(doc) - len(doc[end:].lstrip(_WS))
    if rest != len(doc):
        raise JSONError(f"extra data at {_line_col(doc, rest)}")
    return value


def dumps(value: object, indent: int | None = None) -> str:
    """Serialise dicts, lists, strings, numbers, booleans and None."""
    out: list[str] = []
    _encode(value, out, indent, 0)
    return "".join(out)


def _encode(v: object, out: list[str], indent: int | None, level: int) -> None:
    if isinstance(v, str):
        out.append(_ESCAPE(v))
    elif v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, int):
        out.append(int.__repr__(v))
    elif isinstance(v, float):
        out.append(float.__repr__(v))
    elif isinstance(v, dict):
        if not v:
            out.append("{}")
            return
        sep, pad, end = _layout(indent, level)
        out.append("{" + pad)
        first = True
        for key, item in v.items():
            if not first:
                out.append(sep)
            first = False
            out.append(_ESCAPE(str(key)) + (": " if indent is not None else ":"))
            _encode(item, out, indent, level + 1)
        out.append(end + "}")
    elif isinstance(v, (list, tuple)):
        if not v:
            out.append("[]")
            return
        sep, pad, end = _layout(indent, level)
        out.append("[" + pad)
        for i, item in enumerate(v):
            if i:
                out.append(sep)
            _encode(item, out, indent, level + 1)
        out.append(end + "]")
    else:
        raise TypeError(f"cannot encode {type(v).__name__} as JSON")


def _layout(indent: int | None, level: int) -> tuple[str, str, str]:
    if indent is None:
        return ",", "", ""
    inner = "\n" + " " * (indent * (level + 1))
    return "," + inner, inner, "\n" + " " * (indent * level)
