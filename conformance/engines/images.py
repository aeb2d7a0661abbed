"""Local busybox images for the engine suites (no registry is reachable).

``rootfs_tar`` makes a tiny root filesystem from the host's busybox-static:
/bin/busybox plus one symlink per applet, /etc/passwd and /etc/group, and
empty /proc /sys /dev /tmp.  ``podman import`` takes that tar as is;
``oci_archive`` wraps it as a one-layer OCI image archive for
``ctr images import``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import platform
import subprocess
import tarfile
import time

BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")

_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
           "s390x": "s390x", "riscv64": "riscv64"}


def busybox_path() -> str | None:
    """A statically linked busybox on this host, or None."""
    for p in BUSYBOX_CANDIDATES:
        if os.path.isfile(p) and os.access(p, os.X_OK):
            try:
                out = subprocess.run(["file", "-L", p], capture_output=True, text=True).stdout
            except OSError:
                out = ""
            # without `file`, trust it: Debian's /bin/busybox comes from busybox-static
            if not out or "statically linked" in out or "static-pie" in out:
                return p
    return None


def _applets(busybox: str) -> list[str]:
    out = subprocess.run([busybox, "--list"], check=True, capture_output=True, text=True).stdout
    return sorted({a.strip() for a in out.split() if a.strip() and "/" not in a})


def _add_dir(tar: tarfile.TarFile, name: str, mode: int = 0o755) -> None:
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    ti.mode = mode
    ti.mtime = 0
    tar.addfile(ti)


def _add_file(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = mode
    ti.mtime = 0
    tar.addfile(ti, io.BytesIO(data))


def rootfs_tar_bytes(busybox: str | None = None) -> bytes:
    busybox = busybox or busybox_path()
    if busybox is None:
        raise FileNotFoundError("no static busybox (apt-get install busybox-static)")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in ("bin", "dev", "etc", "proc", "sys", "root", "home", "var", "run", "usr",
                  "usr/bin", "sbin"):
            _add_dir(tar, d)
        _add_dir(tar, "tmp", 0o1777)
        with open(busybox, "rb") as f:
            _add_file(tar, "bin/busybox", f.read(), 0o755)
        for a in _applets(busybox):
            if a == "busybox":
                continue
            ti = tarfile.TarInfo("bin/" + a)
            ti.type = tarfile.SYMTYPE
            ti.linkname = "busybox"
            ti.mode = 0o777
            ti.mtime = 0
            tar.addfile(ti)
        _add_file(tar, "etc/passwd",
                  b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n")
        _add_file(tar, "etc/group", b"root:x:0:\nnobody:x:65534:\n")
    return buf.getvalue()


def rootfs_tar(path: str, busybox: str | None = None) -> str:
    with open(path, "wb") as f:
        f.write(rootfs_tar_bytes(busybox))
    return path


def _blob(tar: tarfile.TarFile, data: bytes) -> tuple[str, int]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    _add_file(tar, "blobs/sha256/" + digest.split(":", 1)[1], data)
    return digest, len(data)


def oci_archive(path: str, name: str, busybox: str | None = None) -> str:
    """Write a one-layer OCI image archive for `name` (e.g. docker.io/library/x:latest)."""
    layer = rootfs_tar_bytes(busybox)
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    gz = gzip.compress(layer, mtime=0)
    arch = _GOARCH.get(platform.machine(), platform.machine())
    config = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(0)),
        "architecture": arch,
        "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["/bin/sh"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "conformance/engines/images.py"}],
    }
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        _add_dir(tar, "blobs")
        _add_dir(tar, "blobs/sha256")
        layer_d, layer_n = _blob(tar, gz)
        cfg_d, cfg_n = _blob(tar, json.dumps(config, sort_keys=True).encode())
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": cfg_d, "size": cfg_n},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": layer_d, "size": layer_n}],
        }
        man_d, man_n = _blob(tar, json.dumps(manifest, sort_keys=True).encode())
        tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else "latest"
        index = {
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": man_d, "size": man_n,
                "platform": {"architecture": arch, "os": "linux"},
                "annotations": {"io.containerd.image.name": name,
                                "org.opencontainers.image.ref.name": tag},
            }],
        }
        _add_file(tar, "index.json", json.dumps(index).encode())
        _add_file(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    return path
