"""Build steps setup.cfg cannot express: the cffi module, the runtime-init
executable, and the schema validator generated from schema/."""

import glob
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


def _git_commit() -> str:
    import subprocess

    try:
        out = subprocess.run(["git", "-C", HERE, "describe", "--always", "--dirty", "--abbrev=40"],
                             capture_output=True, text=True, check=True).stdout.strip()
        return out or "unknown"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _have_libseccomp() -> bool:
    """Whether the C compiler finds <seccomp.h> (libseccomp-dev): without it
    runtime._seccomp is not built and a config with linux.seccomp is refused."""
    cc = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    try:
        return subprocess.run([*cc, "-E", "-x", "c", "-", "-o", os.devnull], input=b"#include <seccomp.h>\n",
                              capture_output=True).returncode == 0
    except OSError:
        return False


class BuildPy(build_py):
    def run(self):
        super().run()
        sys.path.insert(0, HERE)
        from schema.generate import write_generated

        target = os.path.join(self.build_lib, "runtime")
        write_generated(Path(HERE, "schema"), Path(target, "_schema_generated.py"))
        with open(os.path.join(target, "_build_info.py"), "w") as f:
            f.write(f"COMMIT = {_git_commit()!r}\n")
        os.makedirs(os.path.join(target, "schema"), exist_ok=True)
        for path in glob.glob(os.path.join(HERE, "schema", "*.json")):
            shutil.copy(path, os.path.join(target, "schema"))


class BuildExt(build_ext):
    """Also links native/init/*.c into runtime/runtime-init: the container's
    init is this small C program, not a copy of the Python interpreter."""

    def run(self):
        super().run()
        sources = sorted(glob.glob(os.path.join("native", "init", "*.c")))
        objects = self.compiler.compile(
            sources, output_dir=self.build_temp, extra_postargs=["-O2", "-Wall", "-fno-strict-aliasing"]
        )
        out_dir = os.path.join(self.build_lib, "runtime")
        os.makedirs(out_dir, exist_ok=True)
        try:
            # Static: no loader and no libc.so mapped, so the waiting init stays small.
            self.compiler.link_executable(objects, "runtime-init", output_dir=out_dir, extra_postargs=["-static", "-s"])
        except Exception:
            self.compiler.link_executable(objects, "runtime-init", output_dir=out_dir, extra_postargs=["-s"])
        if self.inplace:
            shutil.copy(os.path.join(out_dir, "runtime-init"), os.path.join(HERE, "runtime", "runtime-init"))


setup(
    cffi_modules=["native/build_native.py:ffibuilder"]
    + (["native/build_seccomp.py:ffibuilder"] if _have_libseccomp() else []),
    cmdclass={"build_py": BuildPy, "build_ext": BuildExt},
)
