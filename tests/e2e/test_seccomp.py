"""linux.seccomp: filters compiled by the parent with libseccomp, installed by
runtime-init, checked from inside real containers."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess

import pytest

from e2e_util import new_id, status_fields
from seccomp_profiles import docker_default

SIGSYS_STATUS = 128 + signal.SIGSYS
EPERM_TEXT = os.strerror(errno.EPERM)     # "Operation not permitted"
ENOSYS_TEXT = os.strerror(errno.ENOSYS)   # "Function not implemented"

# What busybox sh -c '...' (echo, grep, mkdir, fork/exec) needs, and what
# runtime-init itself does after a filter installed before the capabilities
# are dropped (noNewPrivileges false): prctl, setgroups/setres*id, capset,
# the sync message, the exec fifo, close_range, execve.
SH_SYSCALLS = """
read write close mprotect brk rt_sigaction rt_sigreturn rt_sigprocmask ioctl getpid clone fork vfork
execve wait4 uname readlink getuid geteuid getgid getegid getppid prctl arch_prctl set_tid_address
openat open newfstatat fstat stat lstat set_robust_list prlimit64 getrandom rseq exit exit_group fcntl
dup2 dup3 lseek mmap munmap getcwd chdir access faccessat faccessat2
""".split()
INIT_SYSCALLS = "capget capset setgroups setresgid setresuid umask sendmsg sendto close_range".split()


def _seccomp(profile: dict, nnp: bool = True):
    def edit(b):
        b.linux["seccomp"] = profile
        b.process["noNewPrivileges"] = nnp
        b.config["root"]["readonly"] = False  # so that an allowed mkdir succeeds
    return edit


def _block(names, action="SCMP_ACT_ERRNO", **extra) -> dict:
    rule = {"names": list(names), "action": action, **extra}
    return {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]}


MKDIR = ["mkdir", "mkdirat"]
TRY_MKDIR = "mkdir /tmp/x; echo rc=$?; echo still here"


# ------------------------------------------------------------------ actions

@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
def test_errno_default_eperm(run_in, nnp):
    r = run_in(["sh", "-c", TRY_MKDIR], edit=_seccomp(_block(MKDIR), nnp))
    assert r.rc == 0, r
    assert "rc=1\nstill here\n" == r.out, r
    assert EPERM_TEXT in r.err, r


def test_errno_ret(run_in):
    r = run_in(["sh", "-c", TRY_MKDIR], edit=_seccomp(_block(MKDIR, errnoRet=errno.ENOSYS)))
    assert r.rc == 0 and r.out == "rc=1\nstill here\n", r
    assert ENOSYS_TEXT in r.err, r


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                                    "SCMP_ACT_TRAP"])
def test_kill_and_trap_end_in_sigsys(run_in, action):
    r = run_in(["mkdir", "/tmp/x"], edit=_seccomp(_block(MKDIR, action)))
    assert r.rc == SIGSYS_STATUS, r


def test_log_and_allow_let_it_through(run_in):
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": MKDIR, "action": "SCMP_ACT_LOG"},
                            {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}],
               "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]}
    r = run_in(["sh", "-c", "mkdir /tmp/x && echo made"], edit=_seccomp(profile))
    assert r.rc == 0 and r.out == "made\n", r


def test_status_shows_filter_mode(run_ok):
    out = run_ok(["grep", "^Seccomp", "/proc/self/status"], edit=_seccomp(_block(MKDIR)))
    fields = status_fields(out)
    assert fields["Seccomp"] == "2", out
    assert int(fields["Seccomp_filters"]) == 1, out
    assert "Seccomp:\t2\n" in out


def test_no_seccomp_means_no_filter(run_ok):
    out = run_ok(["grep", "^Seccomp", "/proc/self/status"])
    assert status_fields(out)["Seccomp"] == "0", out


# ------------------------------------------------------------------ allow lists

@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
def test_default_errno_with_allow_list(run_in, nnp):
    profile = {"defaultAction": "SCMP_ACT_ERRNO",
               "syscalls": [{"names": SH_SYSCALLS + INIT_SYSCALLS, "action": "SCMP_ACT_ALLOW"}]}
    r = run_in(["sh", "-c", "echo ok; " + TRY_MKDIR], edit=_seccomp(profile, nnp))
    assert r.rc == 0, r
    assert r.out == "ok\nrc=1\nstill here\n", r
    assert EPERM_TEXT in r.err, r


def test_default_errno_ret(run_in):
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": errno.ENOSYS,
               "syscalls": [{"names": SH_SYSCALLS + INIT_SYSCALLS, "action": "SCMP_ACT_ALLOW"}]}
    r = run_in(["sh", "-c", TRY_MKDIR], edit=_seccomp(profile))
    assert r.rc == 0 and r.out == "rc=1\nstill here\n", r
    assert ENOSYS_TEXT in r.err, r


def test_unknown_syscall_names_are_skipped(run_in):
    r = run_in(["sh", "-c", TRY_MKDIR],
               edit=_seccomp(_block(["no_such_syscall_ever", "mkdir", "mkdirat", "futex_wake_not_yet"])))
    assert r.rc == 0 and r.out == "rc=1\nstill here\n", r


def test_rule_repeating_the_default_action_is_fine(run_in):
    profile = _block(MKDIR)
    profile["syscalls"].append({"names": ["getpid"], "action": "SCMP_ACT_ALLOW"})
    r = run_in(["sh", "-c", TRY_MKDIR], edit=_seccomp(profile))
    assert r.rc == 0 and r.out == "rc=1\nstill here\n", r


# ------------------------------------------------------------------ ENOSYS stub

# x86_64 numbers. The allow list below names close_range (436) and nothing
# higher, so openat2 (437) and 1000 lie beyond it; mkdir and clone3 (435)
# are below it and unnamed.
NR = {"getpid": 39, "mkdir": 83, "clone3": 435, "close_range": 436, "openat2": 437, "none": 1000}
PROBE_C = r"""
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        long nr = strtol(argv[i], NULL, 0);
        errno = 0;
        /* harmless arguments: close_range(1000, 1001, 0), mkdir(<bad address>) */
        long rc = syscall(nr, 1000L, 1001L, 0L, 0L, 0L, 0L);
        printf("%ld %d\n", nr, rc < 0 ? errno : 0);
    }
    return 0;
}
"""


@pytest.fixture(scope="module")
def syscall_probe(tmp_path_factory):
    """A static program that makes the syscalls numbered on its command line
    and prints '<nr> <errno or 0>' for each."""
    if os.uname().machine != "x86_64":
        pytest.skip("the probe's syscall numbers are x86_64's")
    gcc = shutil.which("gcc")
    if not gcc:
        pytest.skip("no gcc to build the syscall probe")
    d = tmp_path_factory.mktemp("probe")
    (d / "probe.c").write_text(PROBE_C)
    r = subprocess.run([gcc, "-static", "-O2", "-o", str(d / "probe"), str(d / "probe.c")],
                       capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"cannot build a static probe: {r.stderr.strip()[-200:]}")
    return str(d / "probe")


# What runc's init (Go) does after installing the filter; all below close_range.
RUNC_INIT_SYSCALLS = ("fstatfs getdents64 futex nanosleep sched_yield sigaltstack gettid tgkill madvise "
                      "epoll_pwait epoll_ctl clock_gettime").split()


def _probe_profile(arches: bool, extra=()) -> dict:
    names = [n for n in SH_SYSCALLS + INIT_SYSCALLS if n != "faccessat2"] + ["getpid", "close_range", *extra]
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"}]}
    if arches:
        profile["architectures"] = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    return profile


def _with_probe(probe, profile, nnp=True):
    edit_seccomp = _seccomp(profile, nnp)

    def edit(b):
        edit_seccomp(b)
        shutil.copy(probe, os.path.join(b.rootfs, "probe"))
    return edit


def _probe_results(out: str) -> dict:
    by_nr = dict(map(int, line.split()) for line in out.splitlines())
    return {name: by_nr[nr] for name, nr in NR.items()}


PROBE_WANT = {"getpid": 0, "close_range": 0,                  # named: allowed
              "mkdir": errno.EPERM, "clone3": errno.EPERM,    # unnamed, below the highest named: default
              "openat2": errno.ENOSYS, "none": errno.ENOSYS}  # beyond it: ENOSYS


@pytest.mark.parametrize("arches", [True, False], ids=["arches", "native-only"])
@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
def test_enosys_for_syscalls_newer_than_the_profile(run_in, syscall_probe, arches, nnp):
    r = run_in(["/probe", *map(str, NR.values())], edit=_with_probe(syscall_probe, _probe_profile(arches), nnp))
    assert r.rc == 0, r
    assert _probe_results(r.out) == PROBE_WANT, r


def test_no_enosys_stub_with_allow_default(run_in, syscall_probe):
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "clone3", "openat2"], "action": "SCMP_ACT_ERRNO"}]}
    r = run_in(["/probe", *map(str, NR.values())], edit=_with_probe(syscall_probe, profile))
    assert r.rc == 0, r
    got = _probe_results(r.out)
    assert (got["mkdir"], got["clone3"], got["openat2"]) == (errno.EPERM,) * 3, r
    assert got["none"] == errno.ENOSYS and got["getpid"] == 0, r  # the kernel's own ENOSYS


def test_enosys_stub_matches_runc(rt, make_bundle, syscall_probe, tmp_path):
    """runc (1.1 and later) gives the same answers for the same bundle.

    Only with `architectures` listed: runc 1.1 puts in its stub just the
    listed ones, so a profile naming none gets no stub there, while this
    runtime always covers the native architecture (native-only above)."""
    runc = shutil.which("runc")
    if not runc:
        pytest.skip("no runc")
    b = make_bundle(["/probe", *map(str, NR.values())])
    _with_probe(syscall_probe, _probe_profile(arches=True, extra=RUNC_INIT_SYSCALLS))(b)
    b.write()
    ours = rt("run", "--bundle", b.path, new_id())
    assert ours.rc == 0, ours
    cid = new_id()
    try:
        theirs = subprocess.run([runc, "--root", str(tmp_path / "runc"), "run", "--bundle", b.path, cid],
                                capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    finally:
        subprocess.run([runc, "--root", str(tmp_path / "runc"), "delete", "--force", cid], capture_output=True)
    if theirs.returncode:
        pytest.skip(f"runc could not run the bundle: {theirs.stderr.strip()[-300:]}")
    assert _probe_results(ours.out) == _probe_results(theirs.stdout) == PROBE_WANT, (ours, theirs)


# ------------------------------------------------------------------ arguments

PER_LINUX32 = 0x0008  # what `linux32` asks of personality(2)


def _personality(args) -> dict:
    return _block(["personality"], args=args)


def test_arg_eq_filters_one_value(run_in):
    edit = _seccomp(_personality([{"index": 0, "value": PER_LINUX32, "op": "SCMP_CMP_EQ"}]))
    r = run_in(["sh", "-c", "busybox linux64 echo l64; busybox linux32 echo l32; echo rc=$?"], edit=edit)
    assert r.rc == 0, r
    assert r.out == "l64\nrc=1\n", r
    assert EPERM_TEXT in r.err, r


def test_same_index_twice_means_either(run_in):
    """runc's rule: two conditions on one argument become two rules (either
    matches), since one libseccomp rule would need both."""
    args = [{"index": 0, "value": PER_LINUX32, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]
    r = run_in(["sh", "-c", "busybox linux64 true; echo a=$?; busybox linux32 true; echo b=$?; uname -m"],
               edit=_seccomp(_personality(args)))
    assert r.rc == 0, r
    assert r.out == "a=1\nb=1\nx86_64\n", r


def test_distinct_indexes_must_all_match(run_in):
    """kill(pid, 0) only: both conditions in one rule."""
    args = [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]
    profile = _block(["kill"], args=args)
    r = run_in(["sh", "-c", "kill -0 1; echo a=$?; sleep 30 & kill -0 $!; echo b=$?; kill $!; echo c=$?"],
               edit=_seccomp(profile))
    assert r.rc == 0, r
    assert r.out == "a=1\nb=0\nc=0\n", r


CLONE_NEWUSER = 0x10000000
NS_MASK = 0x7E020000  # every CLONE_NEW* flag clone(2) takes


def _clone_rule(value: int, value_two: int) -> dict:
    return _block(["clone"], args=[{"index": 0, "value": value, "valueTwo": value_two, "op": "SCMP_CMP_MASKED_EQ"}])


def test_masked_eq_matching_fork_is_refused(run_in):
    """A fork's flags have no namespace bit: (flags & NS_MASK) == 0 matches."""
    r = run_in(["sh", "-c", "echo one; /bin/true; echo two=$?"], edit=_seccomp(_clone_rule(NS_MASK, 0)))
    assert r.out.startswith("one\n") and "two=0" not in r.out, r
    assert "fork" in r.err, r


def test_masked_eq_not_matching_fork_is_allowed(run_in):
    r = run_in(["sh", "-c", "echo one; /bin/true; echo two=$?"],
               edit=_seccomp(_clone_rule(CLONE_NEWUSER, CLONE_NEWUSER)))
    assert r.rc == 0 and r.out == "one\ntwo=0\n", r


# ------------------------------------------------------------------ engine profiles

@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
def test_docker_default_profile(run_in, nnp):
    script = ("echo ok; mkdir /tmp/d && echo made; grep ^Seccomp: /proc/self/status; "
              "busybox unshare -n true; echo unshare=$?")
    r = run_in(["sh", "-c", script], edit=_seccomp(docker_default(), nnp))
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert lines[:3] == ["ok", "made", "Seccomp:\t2"], r
    assert lines[3] == "unshare=1", r  # unshare is not on Docker's list


def _resolve_containers_profile(doc: dict, caps: set[str]) -> dict:
    """containers/common's profile as podman resolves it for x86_64 and a
    container holding `caps` (includes/excludes by arch and capability)."""
    arches = {"amd64", "x86_64"}
    syscalls = []
    for s in doc["syscalls"]:
        inc, exc = s.get("includes") or {}, s.get("excludes") or {}
        if inc.get("arches") and not arches & set(inc["arches"]):
            continue
        if inc.get("caps") and not set(inc["caps"]) <= caps:
            continue
        if exc.get("arches") and arches & set(exc["arches"]):
            continue
        if exc.get("caps") and set(exc["caps"]) & caps:
            continue
        syscalls.append({k: v for k, v in s.items() if k in ("names", "action", "errnoRet", "args") and v is not None})
    return {"defaultAction": doc["defaultAction"], "defaultErrnoRet": doc.get("defaultErrnoRet"),
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "syscalls": syscalls}


def test_containers_default_profile(run_in, default_spec):
    path = "/usr/share/containers/seccomp.json"
    if not os.path.exists(path):
        pytest.skip(f"no {path}")
    with open(path) as f:
        doc = json.load(f)
    profile = _resolve_containers_profile(doc, set(default_spec["process"]["capabilities"]["bounding"]))
    r = run_in(["sh", "-c", "echo ok; grep ^Seccomp: /proc/self/status"], edit=_seccomp(profile))
    assert r.rc == 0 and r.out == "ok\nSeccomp:\t2\n", r


# ------------------------------------------------------------------ exec

@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
def test_exec_is_filtered_too(rt, make_bundle, nnp):
    b = make_bundle(["sleep", "300"])
    _seccomp(_block(MKDIR, errnoRet=errno.ENOSYS), nnp)(b)
    b.write()
    cid = new_id("sc")
    rt.ok("create", "--bundle", b.path, cid)
    rt.ok("start", cid)
    rt.wait_status(cid, "running")
    r = rt("exec", cid, "grep", "^Seccomp", "/proc/self/status")
    assert r.rc == 0, r
    assert status_fields(r.out)["Seccomp"] == "2", r
    r = rt("exec", cid, "sh", "-c", TRY_MKDIR)
    assert r.rc == 0 and r.out == "rc=1\nstill here\n", r
    assert ENOSYS_TEXT in r.err, r
    # --no-new-privs moves the install to just before execve: still filtered
    r = rt("exec", "--no-new-privs", cid, "mkdir", "/tmp/y")
    assert r.rc == 1 and ENOSYS_TEXT in r.err, r


# ------------------------------------------------------------------ refusals

@pytest.mark.parametrize("where", ["action", "listenerPath"])
def test_notify_is_refused_cleanly(rt, make_bundle, clean_failure, where):
    b = make_bundle(["true"])
    if where == "action":
        b.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                              "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}
        field = "linux.seccomp.syscalls[0].action"
    else:
        b.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/nope.sock"}
        field = "linux.seccomp.listenerPath"
    b.write()
    cid = new_id()
    r = rt("create", "--bundle", b.path, cid)
    clean_failure(r, cid, b, contains="SCMP_ACT_NOTIFY")
    assert field in r.err and "not supported" in r.err, r


def test_bad_argument_index_names_the_field(rt, make_bundle, clean_failure):
    b = make_bundle(["true"])
    b.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]},
    ]}
    b.write()
    cid = new_id()
    r = rt("create", "--bundle", b.path, cid)
    clean_failure(r, cid, b, contains="linux.seccomp.syscalls[1].args[0].index")


def test_filter_that_breaks_the_init_fails_create_cleanly(rt, make_bundle, clean_failure):
    """Without noNewPrivileges the filter is in place while the init drops
    its capabilities: a profile that forbids capset fails create, cleanly."""
    b = make_bundle(["true"])
    _seccomp(_block(["capset"]), nnp=False)(b)
    b.write()
    cid = new_id()
    clean_failure(rt("create", "--bundle", b.path, cid), cid, b, contains="capset")
