"""Hooks that run in the runtime namespace (prestart, createRuntime,
poststart, poststop): the state JSON on stdin, exactly the hook's env, its
timeout enforced. The container-namespace ones run in runtime-init."""

from runtime import jsonio, log
from runtime.errors import Error

CONTAINER_NAMESPACE_PHASES = ("createContainer", "startContainer")
SYNC_PHASES = ("prestart", "createRuntime", "createContainer", "startContainer")


def run(phase: str, hooks: list[dict], state: dict) -> None:
    """Run every hook of a phase in order; the first failure raises Error."""
    if not hooks:
        return
    import subprocess

    data = jsonio.dumps(state).encode()
    for hook in hooks:
        path = hook["path"]
        args = hook.get("args") or [path]
        timeout = hook.get("timeout")
        try:
            proc = subprocess.Popen(args, executable=path, env=_env(hook.get("env")), stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, close_fds=True, cwd="/")
        except OSError as exc:
            raise Error(f"{phase} hook {path}", exc.strerror or str(exc)) from None
        try:
            _, err = proc.communicate(data, timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise Error(f"{phase} hook {path}", f"timed out after {timeout} s") from None
        if proc.returncode:
            detail = err.decode(errors="replace").strip().splitlines()
            why = f"exit status {proc.returncode}" if proc.returncode > 0 else f"killed by signal {-proc.returncode}"
            raise Error(f"{phase} hook {path}", why + (f": {detail[-1]}" if detail else ""))
        log.debug(f"{phase} hook {path}: ok")


def run_warning_only(phase: str, hooks: list[dict], state: dict) -> None:
    """poststop: failures are warnings and the rest still run (runtime.md)."""
    for hook in hooks or []:
        try:
            run(phase, [hook], state)
        except Error as exc:
            log.warn(str(exc))


def _env(env: list[str] | None) -> dict[str, str]:
    out = {}
    for item in env or []:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def pid_in_container(pid: int) -> int:
    """The pid as the container sees it: the last NSpid entry."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except OSError:
        pass
    return pid


def needs_sync(hooks: dict | None) -> bool:
    return bool(hooks) and any(hooks.get(p) for p in SYNC_PHASES)
