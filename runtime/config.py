"""Loading a bundle's config.json and the checks the schema cannot express."""

import os

from runtime import jsonio
from runtime.errors import Error, os_reason

NAMESPACE_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")
# Fields this runtime does not implement yet: refused by name, never ignored.
_UNSUPPORTED = (
    (("linux", "intelRdt"), "Intel RDT is not available (no resctrl on this runtime yet)"),
    # runc refuses both when the LSM is not enabled (this host has neither);
    # applying them where it is enabled is not implemented yet either.
    (("process", "apparmorProfile"), "an AppArmor profile is set, but this runtime does not apply AppArmor profiles"),
    (("process", "selinuxLabel"), "an SELinux label is set, but this runtime does not apply SELinux labels"),
)


def load(bundle: str) -> dict:
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise Error(path, os_reason(exc)) from None
    try:
        doc = jsonio.loads(data)
    except ValueError as exc:
        raise Error(path, f"malformed JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise Error(path, "must be a JSON object")
    return doc


def rootfs(config: dict, bundle: str) -> str:
    return os.path.normpath(os.path.join(bundle, config["root"]["path"]))


def semantic_problems(config: dict, bundle: str, for_create: bool = True) -> list[str]:
    """Problems of a schema-valid config, each '<json path>: <reason>'."""
    problems: list[str] = []
    version = config.get("ociVersion", "")
    if isinstance(version, str) and version.split(".")[0] != "1":
        problems.append(f"ociVersion: {version!r} is not a 1.x version (this runtime implements 1.3.0)")
    root = config.get("root")
    if not root:
        problems.append("root: required on Linux")
    else:
        path = rootfs(config, bundle)
        if not os.path.isdir(path):
            problems.append(f"root.path: {path} " + ("is not a directory" if os.path.exists(path) else "does not exist"))
    process = config.get("process")
    if process is None:
        if for_create:
            problems.append("process: required to create a container")
    else:
        cwd = process.get("cwd", "")
        if isinstance(cwd, str) and not cwd.startswith("/"):
            problems.append(f"process.cwd: {cwd!r} must be an absolute path")
    linux = config.get("linux") or {}
    seen: set[str] = set()
    for i, ns in enumerate(linux.get("namespaces") or []):
        kind = ns.get("type")
        if kind in seen:
            problems.append(f"linux.namespaces[{i}].type: {kind!r} appears more than once")
        seen.add(kind)
        if kind == "user" and ns.get("path"):
            problems.append(f"linux.namespaces[{i}]: joining a user namespace by path is not supported yet")
        if ns.get("path") and not os.path.exists(ns["path"]):
            problems.append(f"linux.namespaces[{i}].path: {ns['path']} does not exist")
    new_ns = {ns.get("type") for ns in linux.get("namespaces") or [] if not ns.get("path")}
    # A uts namespace joined by path may be named too, as runc allows: the
    # hostname is then set in that namespace, never in the caller's.
    if config.get("hostname") and "uts" not in seen:
        problems.append("hostname: needs a uts namespace (linux.namespaces has none)")
    if config.get("domainname") and "uts" not in seen:
        problems.append("domainname: needs a uts namespace (linux.namespaces has none)")
    for i, mount in enumerate(config.get("mounts") or []):
        dest = mount.get("destination", "")
        if "\0" in dest or not dest:
            problems.append(f"mounts[{i}].destination: {dest!r} is not a path")
    if (linux.get("uidMappings") or linux.get("gidMappings")) and "user" not in new_ns:
        problems.append("linux.uidMappings: mappings need a new user namespace (linux.namespaces has none)")
    if "user" in new_ns and not (linux.get("uidMappings") and linux.get("gidMappings")):
        problems.append("linux.namespaces: a new user namespace needs linux.uidMappings and linux.gidMappings")
    if linux.get("netDevices") and not any(ns.get("type") == "network" for ns in linux.get("namespaces") or []):
        problems.append("linux.netDevices: needs the container's own network namespace (linux.namespaces has none)")
    if linux.get("timeOffsets") and "time" not in new_ns:
        problems.append("linux.timeOffsets: needs a new time namespace (linux.namespaces has none)")
    if isinstance(linux.get("seccomp"), dict):
        # Only a config with seccomp pays for this import (and libseccomp's
        # later, when the filter is compiled).
        from runtime.seccomp import problems as seccomp_problems

        problems += seccomp_problems(linux["seccomp"])
    from runtime.linux_settings import sysctl_problems

    problems += sysctl_problems(config)
    for phase, hooks in (config.get("hooks") or {}).items():
        for i, hook in enumerate(hooks or []):
            path = hook.get("path", "")
            if phase != "startContainer" and not os.path.isfile(path):
                problems.append(f"hooks.{phase}[{i}].path: {path} does not exist")
    for path, reason in _UNSUPPORTED:
        section = config.get(path[0]) or {}
        if isinstance(section, dict) and section.get(path[1]) not in (None, "", [], {}):
            problems.append(f"{'.'.join(path)}: {reason}")
    return problems


def notes(config: dict) -> list[str]:
    """Things `validate` reports that are not errors."""
    out = []
    memory = ((config.get("linux") or {}).get("resources") or {}).get("memory") or {}
    for key in ("kernel", "kernelTCP"):
        if isinstance(memory, dict) and memory.get(key) is not None:
            out.append(f"linux.resources.memory.{key}: deprecated by the spec; accepted and ignored")
    return out
