"""create / start / kill / delete: the container lifecycle over the state store."""

import os
import time

from runtime import log
from runtime.errors import Error, os_reason
from runtime.state import Container, proc_start_time

SIGKILL = 9


def _now_rfc3339() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e9):09d}Z"


def load_bundle(bundle: str) -> tuple[dict, str]:
    """The bundle's config, fully validated; returns (config, rootfs)."""
    from runtime import config as configmod
    from runtime.validation import config_problems

    doc = configmod.load(bundle)
    problems = config_problems(doc)
    if not problems:
        problems = configmod.semantic_problems(doc, bundle)
    if problems:
        more = f" (and {len(problems) - 1} more problems: run `runtime validate {bundle}`)" if len(problems) > 1 else ""
        raise Error(os.path.join(bundle, "config.json"), problems[0] + more)
    return doc, configmod.rootfs(doc, bundle)


def create(root: str, container_id: str, bundle: str, *, pid_file: str | None = None,
           console_socket: str | None = None, keep_pty: list | None = None,
           no_pivot: bool = False, no_new_keyring: bool = False, preserve_fds: int = 0,
           systemd_cgroup: bool = False) -> Container:
    """Build the container up to exec; the init waits on the exec fifo.
    With a terminal, the pty master goes to console_socket, or is appended
    to keep_pty (for `run` to proxy)."""
    from runtime.state import validate_id

    validate_id(container_id)
    bundle = os.path.abspath(bundle)
    config, rootfs = load_bundle(bundle)
    on_pty = None
    console = None
    if config["process"].get("terminal"):
        if console_socket:
            from runtime import console as consolemod

            console = consolemod.connect(console_socket)
            on_pty = lambda fd: consolemod.send_master(console, fd)  # noqa: E731
        elif keep_pty is not None:
            from runtime import console as consolemod

            on_pty = consolemod.keep_with_window_size(keep_pty)
        else:
            raise Error("create", "process.terminal is true: --console-socket is required "
                        "(the runtime does not stay to hold the terminal)")
    listen_fds = _socket_activation(config)
    preserve_fds += listen_fds
    try:
        return _create(root, container_id, bundle, config, rootfs, pid_file, on_pty, systemd_cgroup, no_pivot=no_pivot,
                       no_new_keyring=no_new_keyring, preserve_fds=preserve_fds)
    finally:
        if console is not None:
            console.close()


def _socket_activation(config: dict) -> int:
    """systemd socket activation, as runc passes it on: with LISTEN_FDS in
    our environment, those fds (from 3) reach the container, whose env says
    so with LISTEN_PID=1 (its init is pid 1 of its namespace)."""
    text = os.environ.get("LISTEN_FDS")
    if not text:
        return 0
    try:
        count = int(text)
    except ValueError:
        raise Error("LISTEN_FDS", f"not a number: {text!r}") from None
    process = config["process"]
    process["env"] = [e for e in process.get("env") or [] if not e.startswith(("LISTEN_FDS=", "LISTEN_PID="))]
    process["env"] += [f"LISTEN_FDS={count}", "LISTEN_PID=1"]
    return count


def _create(root: str, container_id: str, bundle: str, config: dict, rootfs: str, pid_file: str | None,
            on_pty, systemd_cgroup: bool, **options) -> Container:
    from runtime import cgroups, launch, plan as planmod

    c = Container.new(root, container_id)
    cg = None
    pid = -1
    try:
        from runtime import notify

        notify_socket = notify.prepare(config, c.dir)
        linux = config.get("linux") or {}
        cg = cgroups.ContainerCgroup.create(
            cgroups.cgroup_path(linux.get("cgroupsPath"), container_id, systemd_cgroup))
        # Limits before the init joins: it never runs unconstrained.
        cg.apply(linux.get("resources"), linux.get("devices"))
        os.mkfifo(c.exec_fifo, 0o622)
        # Writable by anyone (not just our umask's 0600): the init may run
        # as a user namespace's root, which is not host root.
        os.chmod(c.exec_fifo, 0o622)
        plan = planmod.build(config, bundle, rootfs, c.exec_fifo, cg, **options)
        place = None
        if linux.get("netDevices"):
            from runtime import netdevices

            def place(pid: int) -> None:
                netdevices.move(pid, linux["netDevices"])

        pid = launch.spawn(plan, cg, place, on_pty, _create_hooks(config, container_id, bundle))
        c.state = {
            "ociVersion": config["ociVersion"],
            "id": container_id,
            "status": "created",
            "pid": pid,
            "bundle": bundle,
            "rootfs": rootfs,
            "created": _now_rfc3339(),
            "owner": "",
            "annotations": config.get("annotations") or {},
            "init_start_time": proc_start_time(pid),
            "cgroup": cg.to_state(),
            # What `exec` needs: the process to start from, the namespaces to join.
            "process": config["process"],
            "namespaces": [ns["type"] for ns in linux.get("namespaces") or []],
            "seccomp": linux.get("seccomp"),  # recompiled for every exec'd process
            "hooks": config.get("hooks") or {},
            "notify_socket": notify_socket,
        }
        c.save()
        if pid_file:
            write_pid_file(pid_file, pid)
    except BaseException:
        _undo_create(c, cg, pid)
        raise
    c.unlock()
    return c


def _hook_state(config: dict, container_id: str, bundle: str, status: str, pid: int) -> dict:
    state = {"ociVersion": config.get("ociVersion", ""), "id": container_id, "status": status,
             "pid": pid, "bundle": bundle}
    if config.get("annotations"):
        state["annotations"] = config["annotations"]
    return state


def _create_hooks(config: dict, container_id: str, bundle: str):
    from runtime import hooks

    if not hooks.needs_sync(config.get("hooks")):
        return None

    def on_hooks(pid: int) -> tuple[str, str]:
        from runtime import jsonio

        phases = config["hooks"]
        state = _hook_state(config, container_id, bundle, "creating", pid)
        hooks.run("prestart", phases.get("prestart"), state)
        hooks.run("createRuntime", phases.get("createRuntime"), state)
        inside = hooks.pid_in_container(pid)
        # startContainer runs before the user program: still "created" (runtime.md).
        return (jsonio.dumps(_hook_state(config, container_id, bundle, "creating", inside)),
                jsonio.dumps(_hook_state(config, container_id, bundle, "created", inside)))

    return on_hooks


def _undo_create(c: Container, cg, pid: int) -> None:
    if pid > 0:
        try:
            os.kill(pid, SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    if cg is not None:
        try:
            cg.signal_all(SIGKILL)
            cg.destroy()
        except Error as exc:
            log.warn(f"cleanup: {exc}")
    try:
        c.remove()
    except OSError as exc:
        log.warn(f"cleanup: remove {c.dir}: {os_reason(exc)}")


def write_pid_file(path: str, pid: int) -> None:
    """Written atomically, no trailing newline (containerd parses it strictly)."""
    path = os.path.abspath(path)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, str(pid).encode())
        finally:
            os.close(fd)
        os.rename(tmp, path)
    except OSError as exc:
        raise Error(f"pid file {path}", os_reason(exc)) from None


def start(root: str, container_id: str) -> None:
    c = Container.load(root, container_id)
    listener = None
    try:
        status = c.status()
        if status != "created":
            raise Error(container_id, f"cannot start a container in the {status} state")
        if c.state.get("notify_socket"):
            from runtime import notify

            listener = notify.listen(c.dir)
        _release_fifo(c)
        c.state["status"] = "running"
        c.save()
        poststart = (c.state.get("hooks") or {}).get("poststart")
        if poststart:
            from runtime import hooks

            try:
                hooks.run("poststart", poststart, _state_for_hooks(c, "running"))
            except Error:
                # runtime.md: a failed poststart hook stops the container.
                _signal_init(c, SIGKILL)
                raise
    except BaseException:
        if listener is not None:
            listener.close()
        raise
    finally:
        c.unlock()
    if listener is not None:
        # Unlocked: waiting for READY=1 must not block kill or delete.
        notify.forward_ready(listener, os.environ.get("NOTIFY_SOCKET") or c.state["notify_socket"], c.init_alive)


def _state_for_hooks(c: Container, status: str) -> dict:
    s = c.state
    state = {"ociVersion": s.get("ociVersion", ""), "id": c.id, "status": status, "pid": s.get("pid", 0),
             "bundle": s.get("bundle", "")}
    if s.get("annotations"):
        state["annotations"] = s["annotations"]
    return state


def _release_fifo(c: Container) -> None:
    """Open the fifo for reading: the init's blocked open returns, it runs
    the startContainer hooks and writes "0" (or "1<error>"), and its end
    closes when it execs the user program. Returns once that happened, so
    poststart hooks run after the program started. Polls so that a dead
    init cannot hang us."""
    import select

    try:
        fd = os.open(c.exec_fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise Error(f"{c.id}: exec fifo", os_reason(exc)) from None
    data = b""
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while True:
            if poller.poll(100):
                chunk = os.read(fd, 4096)
                if chunk:
                    data += chunk
                elif data:
                    break  # the init's end closed at execve (or it died)
            if not data and not c.init_alive():
                raise Error(c.id, "container init exited before start")
        os.unlink(c.exec_fifo)
    finally:
        os.close(fd)
    if data != b"0":
        # "1<message>", or "0" then "1<message>" if execve itself failed.
        message = data.removeprefix(b"0").removeprefix(b"1")
        _signal_init(c, SIGKILL)
        raise Error(c.id, message.decode(errors="replace").strip() or "container init failed at start")


def kill(root: str, container_id: str, sig: int, all_processes: bool = False) -> None:
    c = Container.load(root, container_id)
    try:
        status = c.status()
        if status not in ("created", "running", "paused"):
            raise Error(container_id, f"cannot kill a container in the {status} state")
        if all_processes:
            _cgroup(c).signal_all(sig)
        else:
            _signal_init(c, sig)
            if sig == SIGKILL and status == "paused":
                # A frozen task only dies once thawed (v1 freezer), and runc's
                # kill of a paused container does kill it.
                _cgroup(c).thaw()
                c.set_paused(False)
    finally:
        c.unlock()


def _signal_init(c: Container, sig: int) -> None:
    # A pidfd pins the process: checking its start time and signalling it
    # cannot race with pid reuse.
    from runtime._native import lib

    pid = c.state["pid"]
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        if proc_start_time(pid) != c.state.get("init_start_time"):
            return
        err = lib.rt_pidfd_send_signal(pidfd, sig)
        if err < 0 and -err != 3:  # ESRCH: it exited meanwhile
            raise Error(f"{c.id}: kill", os.strerror(-err))
    finally:
        os.close(pidfd)


def _cgroup(c: Container):
    from runtime import cgroups

    return cgroups.ContainerCgroup.from_state(c.state["cgroup"])


def delete(root: str, container_id: str, force: bool = False) -> None:
    try:
        c = Container.load(root, container_id)
    except Error:
        if force:
            return  # engines delete --force ids they are unsure of
        raise
    try:
        status = c.status()
        if status == "creating":
            raise Error(container_id, "cannot delete a container that is being created")
        if status in ("running", "paused") and not force:
            raise Error(container_id, f"cannot delete a container in the {status} state (use --force)")
        if c.state.get("cgroup"):
            cg = _cgroup(c)
            if status != "stopped":
                _signal_init(c, SIGKILL)
            cg.signal_all(SIGKILL)
            _wait_gone(c)
            cg.destroy()
        poststop = (c.state.get("hooks") or {}).get("poststop")
        state = _state_for_hooks(c, "stopped") if poststop else None
        c.remove()
        if poststop:
            from runtime import hooks

            hooks.run_warning_only("poststop", poststop, state)
    finally:
        c.unlock()


def _wait_gone(c: Container, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.001
    while c.init_alive():
        if time.monotonic() > deadline:
            raise Error(c.id, f"init pid {c.state['pid']} did not exit after SIGKILL")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def exec_process(root: str, container_id: str, process: dict, *, detach: bool = False,
                 pid_file: str | None = None, console_socket: str | None = None, preserve_fds: int = 0,
                 ignore_paused: bool = False) -> int:
    """Start `process` inside the container; without detach wait for it and
    return its wait status (0 when detached)."""
    from runtime import launch, plan as planmod

    c = Container.load(root, container_id)
    pty: list[int] = []
    console = None
    try:
        status = c.status()
        if status == "paused" and not ignore_paused:
            raise Error(container_id, "cannot exec in a paused container (use --ignore-paused)")
        if status not in ("created", "running", "paused"):
            raise Error(container_id, f"cannot exec in a container in the {status} state")
        on_pty = None
        if process.get("terminal"):
            if console_socket:
                from runtime import console as consolemod

                console = consolemod.connect(console_socket)
                on_pty = lambda fd: consolemod.send_master(console, fd)  # noqa: E731
            elif detach:
                raise Error("exec", "a terminal with --detach needs --console-socket")
            else:
                from runtime import console as consolemod

                on_pty = consolemod.keep_with_window_size(pty)
        plan = planmod.build_exec(process, c.state.get("namespaces") or [], c.state["pid"], preserve_fds,
                                  c.state.get("seccomp"))
        cgroup = _cgroup(c)
        # Unlocked before the process exists: in a paused container it
        # freezes on joining the cgroup, and `resume` needs the lock.
        c.unlock()
        pid = launch.spawn(plan, cgroup, None, on_pty)
        if pid_file:
            write_pid_file(pid_file, pid)
    finally:
        if console is not None:
            console.close()
        c.unlock()
    if detach:
        return 0
    if pty:
        from runtime.console import proxy

        return proxy(pty[0], pid)
    from runtime.commands.run import install_forwarding, wait_for

    install_forwarding(pid)
    return wait_for(pid)
