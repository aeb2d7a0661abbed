"""Shared pieces of the engine helpers: which runtime, the argv-logging
wrapper, and the checks that an engine left nothing behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

SEP = "\x1f"  # one log record per line: pid SEP cwd SEP argv0 SEP arg1 ...

CGROUP_ROOT = "/sys/fs/cgroup"


def runtime_path() -> str | None:
    """$RUNTIME (absolute), else `runtime` on PATH, else None."""
    p = os.environ.get("RUNTIME") or shutil.which("runtime")
    if p and os.path.isabs(p) and os.access(p, os.X_OK):
        return p
    return None


def runtime_commands(runtime: str) -> set[str]:
    """The subcommands `runtime --help` lists (to skip tests of unwritten ones)."""
    try:
        out = subprocess.run([runtime, "--help"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return set()
    cmds, on = set(), False
    for line in out.splitlines():
        if line.strip().lower() == "commands:":
            on = True
            continue
        if on:
            if not line.startswith("  "):
                if line.strip():
                    on = False
                continue
            word = line.split()[0] if line.split() else ""
            if word:
                cmds.add(word)
    return cmds


def write_wrapper(path: str, runtime: str, log: str) -> str:
    """A /bin/sh script that appends one line (pid, cwd, argv) to `log`, then
    execs `runtime` with the same argv."""
    script = f"""#!/bin/sh
# argv logger in front of {runtime}
rec="$$\037$(pwd)\037$0"
for a in "$@"; do rec="$rec\037$a"; done
printf '%s\\n' "$rec" >> '{log}'
exec '{runtime}' "$@"
"""
    with open(path, "w") as f:
        f.write(script)
    os.chmod(path, 0o755)
    return path


def read_argv_log(log: str) -> list[dict]:
    out = []
    try:
        with open(log, errors="replace") as f:
            for line in f:
                parts = line.rstrip("\n").split(SEP)
                if len(parts) >= 3:
                    out.append({"pid": int(parts[0]), "cwd": parts[1], "argv": parts[3:]})
    except FileNotFoundError:
        pass
    return out


def subcommand(argv: list[str]) -> str | None:
    """The runtime subcommand in an argv (skipping global options)."""
    takes_value = {"--root", "--log", "--log-format", "--criu", "--rootless"}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("-"):
            if a in takes_value:
                i += 2
                continue
            i += 1
            continue
        return a
    return None


def normalize(argv: list[str], subst: dict[str, str]) -> str:
    """argv as one line with temp dirs / ids replaced by placeholders."""
    import re
    words = []
    for a in argv:
        for k, v in sorted(subst.items(), key=lambda kv: -len(kv[0])):
            if k:
                a = a.replace(k, v)
        a = re.sub(r"\b[0-9a-f]{64}\b", "<ID>", a)
        words.append(a)
    return " ".join(words)


# -- leftovers --------------------------------------------------------------

def mounts_under(prefix: str) -> list[str]:
    prefix = prefix.rstrip("/")
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp == prefix or mp.startswith(prefix + "/"):
                out.append(mp)
    return out


def unmount_under(prefix: str) -> None:
    """Lazily unmount everything mounted at or below prefix, deepest first."""
    for _ in range(5):
        mps = mounts_under(prefix)
        if not mps:
            return
        for mp in sorted(set(mps), key=lambda m: -m.count("/")):
            subprocess.run(["umount", "-l", mp], capture_output=True)


def cgroup_dirs(name: str) -> list[str]:
    """Every cgroup directory /sys/fs/cgroup/<hier>/<name> (or /sys/fs/cgroup/<name>
    on a unified-only host) that exists."""
    name = name.strip("/")
    out = []
    cands = [os.path.join(CGROUP_ROOT, name)]
    try:
        for h in os.listdir(CGROUP_ROOT):
            cands.append(os.path.join(CGROUP_ROOT, h, name))
    except OSError:
        pass
    for c in cands:
        if os.path.isdir(c) and os.path.exists(os.path.join(c, "cgroup.procs")):
            out.append(c)
    return sorted(set(out))


def remove_cgroup_tree(path: str) -> list[str]:
    """rmdir a cgroup tree bottom-up; returns what could not be removed."""
    left = []
    for dirpath, dirnames, _ in os.walk(path, topdown=False):
        for d in dirnames:
            p = os.path.join(dirpath, d)
            try:
                os.rmdir(p)
            except OSError:
                if os.path.isdir(p):
                    left.append(p)
    for _ in range(20):
        try:
            os.rmdir(path)
            break
        except FileNotFoundError:
            break
        except OSError:
            time.sleep(0.1)
    if os.path.isdir(path):
        left.append(path)
    return left


def processes_mentioning(needle: str) -> list[tuple[int, str]]:
    out = []
    me = os.getpid()
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == me:
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmd:
            out.append((int(p), cmd))
    return out


def run_in_pty(argv: list[str], env: dict | None = None, timeout: float = 60,
               input: bytes | None = None) -> tuple[int, str]:
    """Run argv with a fresh pty as its stdin/stdout/stderr and controlling
    terminal; returns (exit status, everything it wrote)."""
    import pty
    import select
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen(argv, env=env, stdin=slave, stdout=slave, stderr=slave,
                             start_new_session=True, close_fds=True,
                             preexec_fn=lambda: __import__("fcntl").ioctl(
                                 0, __import__("termios").TIOCSCTTY, 0))
    finally:
        os.close(slave)
    if input:
        os.write(master, input)
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                p.kill()
                p.wait()
                raise subprocess.TimeoutExpired(argv, timeout, bytes(out))
            r, _, _ = select.select([master], [], [], min(left, 0.2))
            if r:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: every slave fd closed
                    chunk = b""
                if not chunk:
                    if p.poll() is not None:
                        break
                    time.sleep(0.05)
                    continue
                out += chunk
            elif p.poll() is not None:
                # drain anything still buffered
                r, _, _ = select.select([master], [], [], 0.2)
                if not r:
                    break
    finally:
        os.close(master)
    return p.wait(), out.decode(errors="replace")

def recorder(engine, name: str, argv_record):
    """The `act` fixture of an engine suite: `with act("podman run --rm"):`
    records the runtime argv that action caused (engine: its log_mark /
    calls_since / normalized)."""
    import contextlib

    @contextlib.contextmanager
    def act(action: str):
        mark = engine.log_mark()
        try:
            yield
        finally:
            argv_record(name, action, engine.normalized(engine.calls_since(mark)))
    return act
