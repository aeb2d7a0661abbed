"""The --log file, in runc's formats: containerd and podman read the error
message of a failed command from it (json: one object per line with level,
msg and time)."""

import os
import time

_path: str | None = None
_json_format = False
_debug = False


def configure(path: str | None, fmt: str, debug: bool) -> None:
    global _path, _json_format, _debug
    _path, _json_format, _debug = path, fmt == "json", debug


def debugging() -> bool:
    return _debug


def _rfc3339() -> str:
    now = time.time()
    tm = time.localtime(now)
    off = tm.tm_gmtoff
    sign = "+" if off >= 0 else "-"
    off = abs(off)
    return time.strftime("%Y-%m-%dT%H:%M:%S", tm) + f".{int(now % 1 * 1e9):09d}{sign}{off // 3600:02d}:{off % 3600 // 60:02d}"


def write(level: str, msg: str) -> None:
    """Append one line to the log file (if any); never raises."""
    if level == "debug" and not _debug:
        return
    if _path is None:
        if level == "debug":
            os.write(2, f"runtime: debug: {msg}\n".encode(errors="replace"))
        return
    from runtime import jsonio

    if _json_format:
        line = jsonio.dumps({"level": level, "msg": msg, "time": _rfc3339()})
    else:
        line = f"time={jsonio.dumps(_rfc3339())} level={level} msg={jsonio.dumps(msg)}"
    try:
        fd = os.open(_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, (line + "\n").encode(errors="replace"))
        finally:
            os.close(fd)
    except OSError:
        pass


def debug(msg: str) -> None:
    write("debug", msg)


def warn(msg: str) -> None:
    os.write(2, f"runtime: warning: {msg}\n".encode(errors="replace"))
    write("warning", msg)
