"""The document `runtime features` prints (features.md, features-linux.md).

It must stay truthful: callers use it to decide what to ask of us. When a
feature lands, flip it in the tables below and nowhere else.
"""

from __future__ import annotations

OCI_VERSION_MIN = "1.0.0"
OCI_VERSION_MAX = "1.3.0"

# Hook names as in config.md, e.g. "prestart", "createRuntime", ...
HOOKS: tuple[str, ...] = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")

NAMESPACES: tuple[str, ...] = ("cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts")

CGROUP = {"v1": True, "v2": True, "systemd": False, "systemdUser": False, "rdma": True}

# features-linux.md sections that are only {"enabled": bool}.
# seccomp is filled in by features(): enabled when this build has libseccomp.
ENABLED = {
    "apparmor": False,
    "selinux": False,
    "intelRdt": False,
    "netDevices": True,
}

IDMAP_MOUNTS = True


def features() -> dict:
    """A fresh features document."""
    from runtime import __version__
    from runtime.capabilities import NUMBERS
    from runtime.mountopts import KNOWN

    linux: dict = {
        "namespaces": list(NAMESPACES),
        "capabilities": sorted(NUMBERS, key=NUMBERS.__getitem__),
        "cgroup": dict(CGROUP),
    }
    from runtime import seccomp

    linux["seccomp"] = seccomp.features()
    for name, enabled in ENABLED.items():
        linux[name] = {"enabled": enabled}
    linux["mountExtensions"] = {"idmap": {"enabled": IDMAP_MOUNTS}}
    return {
        "ociVersionMin": OCI_VERSION_MIN,
        "ociVersionMax": OCI_VERSION_MAX,
        "hooks": list(HOOKS),
        "mountOptions": list(KNOWN),
        "linux": linux,
        "annotations": {"io.github.runtime.version": __version__},
    }
