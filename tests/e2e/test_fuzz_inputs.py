"""Property-based hunts for bad-input violations (hypothesis).

The rule under test: every bad input gives exactly one stderr line starting
with "runtime: ", exit 1, never a traceback or "internal error", and leaves
nothing behind (state dir, cgroup, mount, process).

In CI each property runs a small, derandomized number of examples; locally

    RT_FUZZ_EXAMPLES=2000 RT_FUZZ_RANDOM=1 pytest tests/e2e/test_fuzz_inputs.py

runs many more (RT_FUZZ_RANDOM=1 drops derandomize to explore new inputs).
Mutations stay away from what would be dangerous if accepted: linux.namespaces
(and linux itself) are never touched, no replacement string is a host path,
no bind mount or sysctl is ever generated.
"""

from __future__ import annotations

import copy
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import uuid

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from e2e_util import (  # noqa: E402
    RUNTIME, Bundle, Runtime, make_rootfs, mounts_mentioning, processes_rooted_at, rmdir_leaf_first,
    wait_until,
)

EXAMPLES = int(os.environ.get("RT_FUZZ_EXAMPLES", "50"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("RT_FUZZ_RANDOM") != "1",
    database=None,  # nothing written into the checkout
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)

CGROUP_FS = "/sys/fs/cgroup"
TIMEOUT = 30


# ---------------------------------------------------------------- helpers

def run_rt(argv: list[str], cwd: str | None = None, timeout: float = TIMEOUT, stdin_data: bytes | None = None):
    """(rc, out, err) of RUNTIME argv; stdout/stderr to files (a created
    container inherits them)."""
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        p = subprocess.Popen([RUNTIME, *argv], cwd=cwd, stdout=fo, stderr=fe,
                             stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
                             start_new_session=True)
        try:
            if stdin_data is not None:
                p.stdin.write(stdin_data)
                p.stdin.close()
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            raise AssertionError(f"timeout after {timeout}s: {argv!r}")
        fo.seek(0)
        fe.seek(0)
        return p.returncode, fo.read().decode(errors="replace"), fe.read().decode(errors="replace")


# Crashes already pinned down by a strict xfail regression test below: the
# fuzzers set such examples aside (hypothesis.reject) and hunt on for new
# ones. Remove an entry when its bug is fixed (its xfail then XPASSes).
KNOWN_CRASHES: list = []


def _lines(text: str) -> list[str]:
    # not str.splitlines(): that also splits at \x1c-\x1e, \x85, \u2028
    return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n") if text else []


def no_crash(what, rc, out, err) -> None:
    if any(k.search(err) for k in KNOWN_CRASHES):
        hypothesis.reject()
    for bad in ("Traceback", "internal error"):
        assert bad not in out and bad not in err, f"{what}: rc={rc} out={out[-2000:]!r} err={err[-2000:]!r}"


def one_line_error(what, rc, out, err) -> None:
    no_crash(what, rc, out, err)
    assert rc == 1, f"{what}: rc={rc} err={err!r}"
    lines = _lines(err)
    assert len(lines) == 1 and lines[0].startswith("runtime: "), f"{what}: stderr={err!r}"


def fuzz_cgroups(tag: str) -> list[str]:
    return sorted(d for d in glob.glob(f"{CGROUP_FS}/*/{tag}") + glob.glob(f"{CGROUP_FS}/{tag}")
                  if os.path.isdir(d))


def cgroup_leaves(tag: str) -> list[str]:
    """Directories below our private parent (the container's own cgroup)."""
    out = []
    for parent in fuzz_cgroups(tag):
        for dirpath, dirnames, _ in os.walk(parent):
            out += [os.path.join(dirpath, d) for d in dirnames]
    return sorted(out)


def remove_cgroups(tag: str) -> None:
    """Kill what is left in our parent's cgroups, thaw them, remove them
    (EBUSY while the killed processes exit is retried)."""
    for parent in fuzz_cgroups(tag):
        dirs = [dirpath for dirpath, _, _ in os.walk(parent)]
        for d in dirs:
            try:
                with open(os.path.join(d, "cgroup.procs")) as f:
                    pids = [int(p) for p in f.read().split()]
            except OSError:
                pids = []
            for pid in pids:
                _kill_pid(pid)
            fz = os.path.join(d, "freezer.state")
            if os.path.exists(fz):
                try:
                    with open(fz, "w") as f:
                        f.write("THAWED")
                except OSError:
                    pass
        rmdir_leaf_first(dirs)


def _kill_pid(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def kill_rooted_at(*paths: str) -> list[int]:
    pids = []
    for p in paths:
        pids += processes_rooted_at(p)
    for pid in pids:
        _kill_pid(pid)
    return pids


class Sandbox:
    """One example's world: a bundle, a --root, a cgroup parent of our own."""

    def __init__(self, base: str, busybox: str, spec: dict, args=("sleep", "30")):
        self.dir = tempfile.mkdtemp(dir=base)
        self.tag = f"rt-fuzz-{uuid.uuid4().hex[:10]}"
        self.id = f"fz-{uuid.uuid4().hex[:10]}"
        self.root = os.path.join(self.dir, "state")
        path = os.path.join(self.dir, "bundle")
        os.makedirs(path)
        make_rootfs(os.path.join(path, "rootfs"), busybox)
        config = copy.deepcopy(spec)
        config["process"]["terminal"] = False
        config["process"]["args"] = list(args)
        config["linux"]["cgroupsPath"] = f"/{self.tag}/{self.id}"
        self.bundle = Bundle(path, config)
        self.rt = Runtime(self.root)

    def write(self, text: str) -> None:
        with open(self.bundle.config_path, "w", encoding="utf-8", errors="surrogatepass") as f:
            f.write(text)

    def call(self, *args, **kw):
        return run_rt(["--root", self.root, *map(str, args)], cwd=self.dir, **kw)

    def leftovers(self) -> list[str]:
        found = []
        if os.path.isdir(self.root):
            left = [n for n in os.listdir(self.root) if not n.startswith(".")]
            if left:
                found.append(f"state dirs under --root: {left}")
        if not wait_until(lambda: not cgroup_leaves(self.tag), 5):
            found.append(f"cgroups: {cgroup_leaves(self.tag)}")
        default = glob.glob(f"{CGROUP_FS}/*/runtime/{self.id}")
        if default:
            found.append(f"cgroups: {default}")
        if mounts_mentioning(self.bundle.path):
            found.append(f"mounts: {mounts_mentioning(self.bundle.path)}")
        if not wait_until(lambda: not (processes_rooted_at(self.bundle.rootfs)
                                       or processes_rooted_at(self.bundle.path)), 5):
            found.append(f"processes: {processes_rooted_at(self.bundle.rootfs)}")
        return found

    def cleanup(self) -> None:
        if not os.path.isdir(self.dir):
            return
        try:
            self.call("delete", "--force", self.id, timeout=15)
        except AssertionError:
            pass
        kill_rooted_at(self.bundle.rootfs, self.bundle.path)
        remove_cgroups(self.tag)
        for d in glob.glob(f"{CGROUP_FS}/*/runtime/{self.id}"):
            try:
                os.rmdir(d)
            except OSError:
                pass
        for line in reversed(mounts_mentioning(self.bundle.path)):
            subprocess.run(["umount", "-l", line.split()[4]], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def fuzz_base(tmp_path_factory):
    return str(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def sandbox_factory(fuzz_base, busybox_copy, default_spec):
    made: list[Sandbox] = []

    def make(**kw) -> Sandbox:
        s = Sandbox(fuzz_base, busybox_copy, default_spec, **kw)
        made.append(s)
        return s

    yield make
    for s in made:
        s.cleanup()


# ---------------------------------------------------------------- 1. config mutations

SAFE_STRINGS = ["", "fuzz", "a\x00b", "line\nbreak", "tab\there", "\u00fcn\u00efc\u00f6de", "x" * 5000,
                "-1", "0", "true", "null", "{}", "rw", "nosuid", "%s%n", "\\"]
ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.just(0), st.just(1), st.just(-1), st.just(2**31), st.just(2**32),
    st.just(2**63), st.just(2**64), st.just(-(2**63) - 1), st.just(2**70), st.just(-(2**70)),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False), st.just(1.5), st.just(1e300),
    st.sampled_from(SAFE_STRINGS),
    st.lists(st.sampled_from([None, 1, "fuzz", True]), max_size=3),
    st.dictionaries(st.sampled_from(["a", "type", "fuzz"]), st.sampled_from([None, 1, "fuzz"]), max_size=2),
)
UNKNOWN_KEYS = st.one_of(st.sampled_from(["fuzz", "x-unknown", "", "a\x00b", "Process", "\u00e9"]),
                         st.text(alphabet="abcdefghijXYZ_.-", min_size=1, max_size=12))


def _protected(path: tuple) -> bool:
    # never touch the namespaces (dropping "mount" would mount on the host)
    return path[:1] == ("linux",) and (len(path) == 1 or path[1] == "namespaces")


def _paths(doc, prefix=()):
    yield prefix, doc
    if len(prefix) > 12:
        return  # not into the deep values inserted by "deep"
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


def _get(doc, path):
    for p in path:
        doc = doc[p]
    return doc


def _deep(depth: int, kind: str):
    v: object = 1
    for _ in range(depth):
        v = [v] if kind == "list" else {"a": v}
    return v


@st.composite
def mutated_configs(draw, base: dict):
    doc = copy.deepcopy(base)
    log = []
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p, _ in _paths(doc) if p and not _protected(p)]
        op = draw(st.sampled_from(["delete", "replace", "replace", "duplicate", "unknown", "deep"]))
        if op == "delete":
            path = draw(st.sampled_from(paths))
            parent = _get(doc, path[:-1])
            del parent[path[-1]]
            log.append(("delete", path))
        elif op == "replace":
            path = draw(st.sampled_from(paths))
            value = draw(ODD_VALUES)
            _get(doc, path[:-1])[path[-1]] = value
            log.append(("replace", path, value if not isinstance(value, str) or len(value) < 50 else "x*5000"))
        elif op == "duplicate":
            lists = [p for p, v in _paths(doc) if isinstance(v, list) and v and not _protected(p) and p]
            if not lists:
                continue
            path = draw(st.sampled_from(lists))
            lst = _get(doc, path)
            i = draw(st.integers(0, len(lst) - 1))
            lst.insert(i, copy.deepcopy(lst[i]))
            log.append(("duplicate", path, i))
        elif op == "unknown":
            dicts = [p for p, v in _paths(doc) if isinstance(v, dict) and not _protected(p) or p == ()]
            path = draw(st.sampled_from(dicts))
            key = draw(UNKNOWN_KEYS)
            target = _get(doc, path)
            if key in target:
                continue
            target[key] = draw(ODD_VALUES)
            log.append(("unknown", path, key))
        else:
            path = draw(st.sampled_from(paths))
            depth = draw(st.sampled_from([10, 100, 900, 1200, 5000, 100000]))
            kind = draw(st.sampled_from(["list", "dict"]))
            _get(doc, path[:-1])[path[-1]] = _deep(depth, kind)
            log.append(("deep", path, depth, kind))
            break  # nothing is copied or walked after a deep value
    return Shown(doc, log)


class Shown:
    """A drawn value that hypothesis prints by its short description (a
    100000-deep value would blow up its pretty-printer)."""

    def __init__(self, value, desc):
        self.value, self.desc = value, desc

    def __repr__(self):
        return f"<{self.desc!r}>"


def _dumps(doc) -> str:
    # json.dumps recurses; very deep values are written by hand
    try:
        return json.dumps(doc, indent=1)
    except RecursionError:
        return _dumps_iter(doc)


def _dumps_iter(doc) -> str:
    out, stack = [], [doc]
    while stack:
        v = stack.pop()
        if isinstance(v, _Tok):
            out.append(v.s)
        elif isinstance(v, list):
            stack.append(_Tok("]"))
            for j, x in enumerate(reversed(v)):
                stack.append(x)
                if j != len(v) - 1:
                    stack.append(_Tok(","))
            out.append("[")
        elif isinstance(v, dict):
            items = list(v.items())
            stack.append(_Tok("}"))
            for j, (k, x) in enumerate(reversed(items)):
                stack.append(x)
                stack.append(_Tok(json.dumps(k) + ":"))
                if j != len(items) - 1:
                    stack.append(_Tok(","))
            out.append("{")
        else:
            out.append(json.dumps(v))
    return "".join(out)


class _Tok:
    __slots__ = ("s",)

    def __init__(self, s):
        self.s = s


def check_config(sb: Sandbox, text: str, what) -> None:
    sb.write(text)
    rc, out, err = sb.call("validate", sb.bundle.path)
    no_crash(f"validate {what}", rc, out, err)
    assert rc in (0, 1), (what, rc, err)
    rc, out, err = sb.call("create", "--bundle", sb.bundle.path, sb.id)
    if rc == 0:
        no_crash(f"create {what}", rc, out, err)
        rc2, out2, err2 = sb.call("state", sb.id)
        no_crash(f"state {what}", rc2, out2, err2)
        assert rc2 == 0, (what, err2)
        rc2, out2, err2 = sb.call("start", sb.id)
        no_crash(f"start {what}", rc2, out2, err2)
        assert rc2 == 0 or (rc2 == 1 and len(_lines(err2)) == 1), (what, rc2, err2)
        rc2, out2, err2 = sb.call("delete", "--force", sb.id)
        no_crash(f"delete {what}", rc2, out2, err2)
        assert rc2 == 0, (what, err2)
    else:
        one_line_error(f"create {what}", rc, out, err)
    left = sb.leftovers()
    assert not left, f"{what}: left behind after create rc={rc} err={err!r}: {left}"


@FUZZ
@given(data=st.data())
def test_config_mutations(sandbox_factory, default_spec, data):
    sb = sandbox_factory()
    try:
        m = data.draw(mutated_configs(sb.bundle.config))
        check_config(sb, _dumps(m.value), m.desc)
    finally:
        sb.cleanup()


BAD_TEXTS = st.one_of(
    st.sampled_from(["", " ", "null", "[]", "1", '"x"', "{", "}", '{"a":1}{', "{}", "\ufeff{}",
                     '{"ociVersion": NaN}', '{"ociVersion": Infinity}', '{"a": 1e999999}',
                     '{"a": 123456789012345678901234567890123456789}', '{"a": "\\ud800"}',
                     '{"a": "\\u0000"}', "{\"a\":\"\x01\"}", "[" * 100000, "{\"a\":" * 100000]),
    st.text(max_size=200),
)


@FUZZ
@given(shown=BAD_TEXTS.map(lambda t: Shown(t, t[:80])), raw=st.binary(max_size=64))
def test_malformed_config_text(sandbox_factory, shown, raw):
    sb = sandbox_factory()
    text = shown.value
    try:
        check_config(sb, text, text[:80])
        with open(sb.bundle.config_path, "wb") as f:
            f.write(raw)
        rc, out, err = sb.call("create", "--bundle", sb.bundle.path, sb.id)
        one_line_error(f"create raw {raw!r}", rc, out, err)
        assert not sb.leftovers()
    finally:
        sb.cleanup()


# ---------------------------------------------------------------- 2. CLI argv fuzz

COMMANDS = ["create", "start", "run", "exec", "state", "kill", "delete", "list", "spec", "features",
            "validate", "pause", "resume", "update", "ps", "events"]
GLOBAL_FLAGS = ["--log", "--log-format", "--debug", "--systemd-cgroup", "--rootless", "--criu", "--root"]
_FLAG_RE = re.compile(r"^\s+(-[-\w]+(?:, -[-\w]+)*)( VALUE)?\s")


def _flags_of(cmd: str) -> list[tuple[str, bool]]:
    rc, out, err = run_rt([cmd, "--help"]) if cmd else run_rt(["--help"])
    assert rc == 0, (cmd, err)
    flags = []
    for line in out.splitlines():
        m = _FLAG_RE.match(line)
        if m:
            for name in m.group(1).split(", "):
                flags.append((name, bool(m.group(2))))
    return flags


@pytest.fixture(scope="module")
def cli_flags():
    table = {cmd: _flags_of(cmd) for cmd in COMMANDS}
    table[""] = _flags_of("")
    for cmd, flags in table.items():
        flags += [f for f in (("--help", False), ("-h", False)) if f not in flags]
    assert ("--bundle", True) in table["create"], table["create"]
    return table


# no NUL (argv cannot carry it), no surrogates, no "/" (tokens stay relative: paths land in the temp cwd)
TOKEN_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00/"),
                     max_size=20)
ODD_IDS = st.sampled_from(["", "-", "--", ".", "..", "a b", "a\nb", "\u00e9t\u00e9", "x" * 1100, "x" * 1024,
                           "$(id)", "a:b", "A.b+c_d-e", "0", "-abc", "=", "a=b", "\t", "fz-none"])
VALUES = st.one_of(st.sampled_from(["", "0", "-1", "1", "2**70", "1180591620717411303424", "9" * 40, "abc",
                                    "true", "false", "json", "table", "KILL", "SIGKILL", "9", "65", "1s",
                                    "-5s", "0x10", "1e3", "nan", " 1", "1m30s", "1.5", "\u00b5s", "-"]),
                   TOKEN_TEXT, ODD_IDS)


@st.composite
def argvs(draw, table):
    argv: list[str] = []
    for _ in range(draw(st.integers(0, 2))):
        name, takes = draw(st.sampled_from(table[""]))
        if name in ("--root",):
            continue
        if name in ("--help", "-h", "--version", "-v") and draw(st.integers(0, 3)):
            continue
        argv += _flag_tokens(draw, name, takes)
    if draw(st.integers(0, 9)):
        argv.append(draw(st.sampled_from(COMMANDS)))
    elif draw(st.booleans()):
        argv.append(draw(TOKEN_TEXT))
    cmd = argv[-1] if argv and argv[-1] in COMMANDS else None
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.integers(0, 5))
        if kind <= 2 and cmd:
            name, takes = draw(st.sampled_from(table[cmd]))
            if name in ("--help", "-h") and draw(st.integers(0, 3)):
                continue
            argv += _flag_tokens(draw, name, takes)
        elif kind == 3:
            argv.append(draw(ODD_IDS))
        elif kind == 4:
            argv.append(draw(VALUES))
        else:
            argv.append("-" + draw(st.sampled_from(["-", ""])) + draw(TOKEN_TEXT))
    return argv


def _flag_tokens(draw, name, takes):
    if draw(st.integers(0, 4)) == 0:
        name = "-" + name.lstrip("-")  # Go style -bundle
    if not takes:
        form = draw(st.integers(0, 3))
        return [name] if form else [f"{name}={draw(VALUES)}"]
    form = draw(st.integers(0, 4))
    if form == 0:
        return [name]  # value missing (or the next token taken as value)
    if form == 1:
        return [f"{name}={draw(VALUES)}"]
    return [name, draw(VALUES)]


def check_cli(sb_dir: str, root: str, argv: list[str]) -> None:
    rc, out, err = run_rt(["--root", root, *argv], cwd=sb_dir, timeout=20)
    no_crash(argv, rc, out, err)
    assert rc in (0, 1), (argv, rc, err)
    if rc == 1:
        lines = _lines(err)
        if len(lines) > 1 and any("\n" in a for a in argv):
            hypothesis.reject()  # known: test_regression_newline_in_argv_error
        if not lines:
            # `runtime` with no subcommand prints the usage on stdout and exits 1
            assert out.startswith("usage: runtime"), (argv, out[:200])
        else:
            assert len(lines) == 1 and lines[0].startswith("runtime: "), (argv, err)
    # nothing was created under any root
    for d in [root] + [os.path.join(sb_dir, n) for n in os.listdir(sb_dir)]:
        if os.path.isdir(d) and d != os.path.join(sb_dir, "rootfs"):
            for n in os.listdir(d):
                assert not os.path.exists(os.path.join(d, n, "state.json")), (argv, d, n)


@FUZZ
@given(data=st.data())
def test_cli_argv(cli_flags, fuzz_base, data):
    d = tempfile.mkdtemp(dir=fuzz_base)
    root = os.path.join(d, "state")
    try:
        for _ in range(data.draw(st.integers(1, 3))):
            check_cli(d, root, data.draw(argvs(cli_flags)))
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- 3. state corruption

STATE_KEYS = ["ociVersion", "id", "status", "pid", "bundle", "rootfs", "created", "owner", "annotations",
              "init_start_time", "cgroup", "process", "namespaces", "seccomp", "hooks", "notify_socket"]


@st.composite
def corrupt_state(draw, state: dict, text: str):
    kind = draw(st.sampled_from(["truncate", "garbage", "other_type", "delete_key", "wrong_type",
                                 "wrong_type", "nested_wrong_type", "deep"]))
    if kind == "truncate":
        n = draw(st.integers(0, max(0, len(text) - 1)))
        return Shown(text[:n], (kind, n))
    if kind == "garbage":
        g = draw(st.sampled_from(["{", "\x00\x01", "}{", "nul\x00", "{'a': 1}", "\xff"]))
        return Shown(g, (kind, g))
    if kind == "other_type":
        g = draw(st.sampled_from(["null", "[]", "1", '"x"', "true", "[{}]", "{}"]))
        return Shown(g, (kind, g))
    doc = copy.deepcopy(state)
    if kind == "delete_key":
        keys = draw(st.lists(st.sampled_from(sorted(doc)), min_size=1, max_size=3, unique=True))
        for k in keys:
            doc.pop(k, None)
        desc = (kind, keys)
    elif kind == "wrong_type":
        k = draw(st.sampled_from(STATE_KEYS))
        doc[k] = draw(ODD_VALUES)
        desc = (kind, k, doc[k] if not isinstance(doc[k], str) or len(doc[k]) < 50 else "x*5000")
    elif kind == "nested_wrong_type":
        paths = [p for p, _ in _paths(doc) if len(p) >= 2]
        path = draw(st.sampled_from(paths))
        v = draw(ODD_VALUES)
        _get(doc, path[:-1])[path[-1]] = v
        desc = (kind, path, v if not isinstance(v, str) or len(v) < 50 else "x*5000")
    else:
        k = draw(st.sampled_from(STATE_KEYS))
        depth = draw(st.sampled_from([900, 5000, 100000]))
        doc[k] = _deep(depth, "list")
        desc = (kind, k, depth)
    return Shown(_dumps(doc), desc)


# one root cause (state.json's shape is trusted), many symptoms
_STATE_SHAPE_BUG = re.compile(r"internal error: (AttributeError|TypeError|KeyError)")

STATE_COMMANDS = [
    ("state",), ("list",), ("list", "--format", "json"), ("ps",), ("ps", "--format", "json"),
    ("kill", "CONT"), ("kill", "--all", "CONT"), ("pause",), ("resume",), ("start",), ("delete",),
    ("exec", "true"), ("exec", "--detach", "true"), ("update", "--pids-limit", "100"),
    ("events", "--stats"),
]


@FUZZ
@given(data=st.data())
def test_state_corruption(sandbox_factory, data):
    sb = sandbox_factory()
    try:
        sb.write(json.dumps(sb.bundle.config))
        rc, out, err = sb.call("create", "--bundle", sb.bundle.path, sb.id)
        assert rc == 0, err
        path = os.path.join(sb.root, sb.id, "state.json")
        with open(path) as f:
            text = f.read()
        state = json.loads(text)
        shown = data.draw(corrupt_state(state, text))
        kind, bad = shown.desc, shown.value
        with open(path, "w", encoding="utf-8", errors="surrogatepass") as f:
            f.write(bad)
        for cmd in data.draw(st.lists(st.sampled_from(STATE_COMMANDS), min_size=1, max_size=4)):
            argv = [cmd[0], *cmd[1:-1], sb.id, cmd[-1]] if cmd[0] in ("kill", "exec", "update") and len(cmd) > 1 \
                else ([*cmd] if cmd[0] == "list" else [*cmd, sb.id])
            if cmd[0] == "update":
                argv = ["update", "--pids-limit", "100", sb.id]
            if cmd[0] == "exec":
                argv = ["exec", *cmd[1:-1], sb.id, cmd[-1]]
            rc, out, err = sb.call(*argv, timeout=20)
            if _STATE_SHAPE_BUG.search(err):
                hypothesis.reject()  # known: test_regression_state_field_wrong_type
            no_crash((kind, bad[:300], argv), rc, out, err)
            if rc != 0:
                one_line_error((kind, bad[:300], argv), rc, out, err)
        rc, out, err = sb.call("delete", "--force", sb.id, timeout=20)
        if _STATE_SHAPE_BUG.search(err):
            hypothesis.reject()
        no_crash((kind, bad[:300], "delete --force"), rc, out, err)
        if rc != 0:
            one_line_error((kind, bad[:300], "delete --force"), rc, out, err)
    finally:
        # whatever the runtime could not do, done here by pid and path
        pid = state.get("pid") if "state" in locals() else None
        if pid:
            _kill_pid(pid)
        sb.cleanup()


# ---------------------------------------------------------------- regressions found by the fuzzers

def _sandbox_config(sb: Sandbox) -> None:
    sb.write(json.dumps(sb.bundle.config))


@pytest.mark.parametrize("text", ["{", '{"a"', '"abc', '{"ociVersion": "1.3.0", "process": {"args": ["sh'])
def test_regression_json_scanner_systemerror(sandbox_factory, text):
    sb = sandbox_factory()
    sb.write(text)
    rc, out, err = sb.call("validate", sb.bundle.path)
    one_line_error("validate", rc, out, err)
    rc, out, err = sb.call("create", "--bundle", sb.bundle.path, sb.id)
    one_line_error("create", rc, out, err)
    assert not sb.leftovers()


@pytest.mark.parametrize("text", ["[" * 100000, '{"a":' * 100000, '{"x": ' + "[" * 5000 + "]" * 5000 + "}"])
def test_regression_json_deep(sandbox_factory, text):
    sb = sandbox_factory()
    sb.write(text)
    rc, out, err = sb.call("validate", sb.bundle.path)
    no_crash("validate", rc, out, err)
    rc, out, err = sb.call("create", "--bundle", sb.bundle.path, sb.id)
    one_line_error("create", rc, out, err)
    assert not sb.leftovers()


@pytest.mark.parametrize("doc", ["null", "[]", "1"])
def test_regression_state_json_not_an_object(sandbox_factory, doc):
    _corrupt_and_state(sandbox_factory, lambda st: doc)


@pytest.mark.parametrize("key,value", [("pid", "x"), ("cgroup", None), ("cgroup", "x"), ("cgroup", [])])
def test_regression_state_field_wrong_type(sandbox_factory, key, value):
    _corrupt_and_state(sandbox_factory, lambda st: json.dumps({**st, key: value}))


def test_regression_state_cgroup_path_null(sandbox_factory):
    _corrupt_and_state(sandbox_factory, lambda st: json.dumps({**st, "cgroup": {**st["cgroup"], "path": None}}),
                       commands=(["delete", "--force"],))


def _corrupt_and_state(sandbox_factory, corrupt, commands=(["state"], ["list"])):
    sb = sandbox_factory()
    _sandbox_config(sb)
    rc, out, err = sb.call("create", "--bundle", sb.bundle.path, sb.id)
    assert rc == 0, err
    path = os.path.join(sb.root, sb.id, "state.json")
    with open(path) as f:
        doc = corrupt(json.load(f))
    with open(path, "w") as f:
        f.write(doc)
    for argv in ([*c, sb.id] if c[0] != "list" else c for c in commands):
        rc, out, err = sb.call(*argv)
        no_crash((doc[:200], argv), rc, out, err)


@pytest.mark.parametrize("argv", [["create", "x", "b", "\n"], ["--root-x\ny"], ["list", "a\nb"]])
def test_regression_newline_in_argv_error(fuzz_base, argv):
    d = tempfile.mkdtemp(dir=fuzz_base)
    rc, out, err = run_rt(["--root", os.path.join(d, "state"), *argv], cwd=d)
    one_line_error(argv, rc, out, err)
