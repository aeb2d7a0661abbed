"""The config.json `runtime spec` writes.

Deliberately the same content as `runc spec` (and `runc spec --rootless`),
except for ociVersion, because users diff the two.
"""

from __future__ import annotations

import os

from runtime.errors import Error, os_reason

_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]

_MASKED = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
]

_READONLY = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
]


def default_spec(rootless: bool = False) -> dict:
    """A fresh config dict (callers may mutate it)."""
    from runtime import SPEC_VERSION

    # Key order follows runc's Go structs so the written file diffs cleanly.
    spec: dict = {
        "ociVersion": SPEC_VERSION,
        "process": {
            "terminal": True,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm",
            ],
            "cwd": "/",
            "capabilities": {
                k: list(_CAPS) for k in ("bounding", "effective", "permitted", "ambient")
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "runc",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {
                "destination": "/dev",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
            },
            {
                "destination": "/dev/pts",
                "type": "devpts",
                "source": "devpts",
                "options": [
                    "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5",
                ],
            },
            {
                "destination": "/dev/shm",
                "type": "tmpfs",
                "source": "shm",
                "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
            },
            {
                "destination": "/dev/mqueue",
                "type": "mqueue",
                "source": "mqueue",
                "options": ["nosuid", "noexec", "nodev"],
            },
            {
                "destination": "/sys",
                "type": "sysfs",
                "source": "sysfs",
                "options": ["nosuid", "noexec", "nodev", "ro"],
            },
            {
                "destination": "/sys/fs/cgroup",
                "type": "cgroup",
                "source": "cgroup",
                "options": ["nosuid", "noexec", "nodev", "relatime", "ro"],
            },
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"},
                {"type": "network"},
                {"type": "ipc"},
                {"type": "uts"},
                {"type": "mount"},
            ],
            "maskedPaths": list(_MASKED),
            "readonlyPaths": list(_READONLY),
        },
    }
    if rootless:
        _to_rootless(spec)
    return spec


def _to_rootless(spec: dict) -> None:
    # Mirrors runc's specconv.ToRootless.
    linux = spec["linux"]
    namespaces = [ns for ns in linux["namespaces"] if ns["type"] not in ("network", "user")]
    namespaces.append({"type": "user"})
    # Rebuilt so uidMappings/gidMappings come first, as in runc's output.
    spec["linux"] = {
        "uidMappings": [{"containerID": 0, "hostID": os.geteuid(), "size": 1}],
        "gidMappings": [{"containerID": 0, "hostID": os.getegid(), "size": 1}],
        "namespaces": namespaces,
        "maskedPaths": linux["maskedPaths"],
        "readonlyPaths": linux["readonlyPaths"],
    }
    mounts = []
    for m in spec["mounts"]:
        # An unprivileged user cannot mount a fresh sysfs without a network
        # namespace it owns; bind the host's instead.
        if m["destination"] == "/sys":
            mounts.append({
                "destination": "/sys",
                "type": "none",
                "source": "/sys",
                "options": ["rbind", "nosuid", "noexec", "nodev", "ro"],
            })
            continue
        # Only one id is mapped, so uid=/gid= options could name unmapped ids.
        if "options" in m:
            m["options"] = [
                o for o in m["options"] if not o.startswith(("uid=", "gid="))
            ]
        mounts.append(m)
    spec["mounts"] = mounts


def write_spec(bundle: str, rootless: bool) -> None:
    """Write <bundle>/config.json, refusing to overwrite one."""
    import json

    if not os.path.isdir(bundle):
        reason = "not a directory" if os.path.exists(bundle) else "no such file or directory"
        raise Error("spec", f"chdir {bundle}: {reason}")
    path = os.path.join(bundle, "config.json")
    text = json.dumps(default_spec(rootless), indent="\t") + "\n"
    try:
        # O_EXCL: the existence check and the creation are one step, so a
        # concurrent writer cannot be clobbered.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except FileExistsError:
        raise Error("spec", "File config.json exists. Remove it first") from None
    except OSError as e:
        raise Error("spec", f"open {path}: {os_reason(e)}") from None
    with open(fd, "w", encoding="utf-8") as f:
        f.write(text)
