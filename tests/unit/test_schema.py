"""Tests of schema/*.json, the generated fast validator and runtime.validation.

* every upstream (runtime-spec v1.3.0) good config/state is accepted, every
  bad one rejected;
* the generated plain-Python validator and the jsonschema-based reporter agree;
* over a hypothesis corpus of realistic and mutated configs, our schema agrees
  with the upstream schema (evaluated with jsonschema), except where the
  upstream schema does not follow the spec text: those cases are listed in
  DIVERGENCES below, each with the spec sentence, excluded from the
  comparison and pinned down by test_divergence.

Runs against the installed package (pip install .).
"""

from __future__ import annotations

import ast
import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

jsonschema = pytest.importorskip("jsonschema")
referencing = pytest.importorskip("referencing")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from referencing.jsonschema import DRAFT4  # noqa: E402

from runtime import _schema_generated, validation  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = Path(__file__).resolve().parents[2]
from spec_reference import REFERENCE  # noqa: E402
UPSTREAM_SCHEMA = REFERENCE / "schema"
UPSTREAM_TESTS = UPSTREAM_SCHEMA / "test"

if not UPSTREAM_SCHEMA.is_dir():
    pytest.skip(f"upstream runtime-spec reference not found at {REFERENCE}", allow_module_level=True)


# ---- helpers -----------------------------------------------------------------


def _upstream_validator(root: str):
    resources = []
    for path in UPSTREAM_SCHEMA.glob("*.json"):
        contents = json.loads(path.read_text())
        resources.append((path.name, referencing.Resource.from_contents(contents, default_specification=DRAFT4)))
    registry = referencing.Registry().with_resources(resources)
    schema = json.loads((UPSTREAM_SCHEMA / root).read_text())
    return jsonschema.Draft4Validator(schema, registry=registry)


UPSTREAM_CONFIG = _upstream_validator("config-schema.json")
UPSTREAM_STATE = _upstream_validator("state-schema.json")


def fast_ok(validate, doc) -> bool:
    try:
        validate(doc)
    except _schema_generated.SchemaValidationError:
        return False
    return True


def fast_config_ok(doc) -> bool:
    return fast_ok(_schema_generated.validate_config, doc)


def fast_state_ok(doc) -> bool:
    return fast_ok(_schema_generated.validate_state, doc)


def slow_config_ok(doc) -> bool:
    return validation._validator(validation.CONFIG_SCHEMA).is_valid(doc)


def slow_state_ok(doc) -> bool:
    return validation._validator(validation.STATE_SCHEMA).is_valid(doc)


def load(path: Path):
    return json.loads(path.read_text())


def upstream_files(kind: str, verdict: str) -> list[Path]:
    return sorted((UPSTREAM_TESTS / kind / verdict).glob("*.json"))


def ids(paths):
    return [p.name for p in paths]


# ---- upstream good / bad test documents --------------------------------------------


@pytest.mark.parametrize("path", upstream_files("config", "good"), ids=ids(upstream_files("config", "good")))
def test_upstream_good_config_accepted(path):
    doc = load(path)
    assert validation.config_problems(doc) == []
    assert fast_config_ok(doc) and slow_config_ok(doc)


@pytest.mark.parametrize("path", upstream_files("config", "bad"), ids=ids(upstream_files("config", "bad")))
def test_upstream_bad_config_rejected(path):
    try:
        doc = load(path)
    except json.JSONDecodeError:
        # invalid-json.json: the loader rejects it before any schema applies.
        assert path.name == "invalid-json.json"
        return
    problems = validation.config_problems(doc)
    assert problems, path
    assert not fast_config_ok(doc) and not slow_config_ok(doc)
    assert not UPSTREAM_CONFIG.is_valid(doc)


@pytest.mark.parametrize("path", upstream_files("state", "good"), ids=ids(upstream_files("state", "good")))
def test_upstream_good_state_accepted(path):
    assert validation.state_problems(load(path)) == []


@pytest.mark.parametrize("path", upstream_files("state", "bad"), ids=ids(upstream_files("state", "bad")))
def test_upstream_bad_state_rejected(path):
    try:
        doc = load(path)
    except json.JSONDecodeError:
        assert path.name == "invalid-json.json"
        return
    assert validation.state_problems(doc)


LOCAL_CONFIGS = {
    "runc-spec": HERE / "schema_runc_spec.json",  # `runc spec` (runc 1.1.5)
    "runc-spec-rootless": HERE / "schema_runc_spec_rootless.json",  # `runc spec --rootless`
    "kitchen-sink": HERE / "schema_kitchen_sink.json",  # every Linux field
}


@pytest.mark.parametrize("name", sorted(LOCAL_CONFIGS))
def test_realistic_configs_accepted(name):
    doc = load(LOCAL_CONFIGS[name])
    assert validation.config_problems(doc) == []
    assert UPSTREAM_CONFIG.is_valid(doc)


@pytest.mark.parametrize("index", range(3), ids=["windows", "solaris", "vm"])
def test_other_platform_configs_accepted(index):
    doc = load(HERE / "schema_platforms.json")[index]
    assert validation.config_problems(doc) == []
    assert UPSTREAM_CONFIG.is_valid(doc)


# ---- messages ---------------------------------------------------------------------


def _minimal():
    return {"ociVersion": "1.0.0", "root": {"path": "rootfs"},
            "process": {"cwd": "/", "args": ["sh"], "user": {"uid": 0, "gid": 0}}}


def test_messages_are_readable_and_sorted():
    doc = _minimal()
    del doc["ociVersion"]
    doc["process"]["args"] = []
    doc["mounts"] = [{"destination": "/a"}, {"destination": "/b"}, {"destination": 5}]
    doc["mounts"] += [{"destination": "/x"}] * 8 + [{"destination": None}]
    doc["linux"] = {"sysctl": {"net.ipv4.ip_forward": 1}, "seccomp": {"defaultAction": "SCMP_ACT_NOPE"}}
    assert validation.config_problems(doc) == [
        "(root): 'ociVersion' is a required property",
        "linux.seccomp.defaultAction: 'SCMP_ACT_NOPE' is not one of ['SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', "
        "'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', "
        "'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY']",
        "linux.sysctl['net.ipv4.ip_forward']: 1 is not of type 'string'",
        "mounts[2].destination: 5 is not of type 'string'",
        "mounts[11].destination: None is not of type 'string'",
        "process.args: [] should be non-empty",
    ]


def test_messages_for_patterns_and_alternatives():
    doc = _minimal()
    doc["ociVersion"] = "1.0"
    doc["linux"] = {"resources": {"rdma": {"mlx5_1": {}}, "hugepageLimits": [{"pageSize": "2mb", "limit": 1}]}}
    assert validation.config_problems(doc) == [
        "linux.resources.hugepageLimits[0].pageSize: '2mb' is not a hugepage size of the form "
        "<size><unit-prefix>B (e.g. 64KB, 2MB, 1GB)",
        "linux.resources.rdma.mlx5_1: at least one of 'hcaHandles', 'hcaObjects' is required",
        "ociVersion: '1.0' is not a SemVer 2.0.0 version (e.g. 1.0.2 or 1.1.0-rc.1)",
    ]


def test_non_object_documents():
    assert validation.config_problems([]) == ["(root): [] is not of type 'object'"]
    assert validation.state_problems("x") == ["(root): 'x' is not of type 'object'"]


def test_state_problems():
    state = {"ociVersion": "1.3.0", "id": "c1", "status": "running", "pid": 42, "bundle": "/run/b"}
    assert validation.state_problems(state) == []
    assert validation.state_problems(dict(state, status="paused")) == []
    stopped = {k: v for k, v in state.items() if k != "pid"}
    assert validation.state_problems(dict(stopped, status="stopped")) == []
    assert validation.state_problems(stopped) == ["(root): 'pid' is a required property"]
    assert validation.state_problems(dict(state, status="zombie", pid=-1)) == [
        "pid: -1 is less than the minimum of 0",
        "status: 'zombie' is not one of ['creating', 'created', 'running', 'stopped', 'paused']",
    ]


# ---- the generated module ------------------------------------------------------------


def test_generated_module_imports_no_third_party():
    tree = ast.parse(Path(_schema_generated.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    # not even re: the schema's patterns are plain predicates (schema_patterns)
    assert imported <= {"runtime"}, imported


def test_validation_import_is_light():
    code = ("import sys, runtime.validation as v; "
            "v.config_problems({'ociVersion': '1.0.0', 'root': {'path': 'rootfs'}}); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('jsonschema', 'referencing', 'fastjsonschema', 'decimal', 're')))")
    env = dict(os.environ, PYTHONPATH=str(Path(validation.__file__).resolve().parents[1]))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=env, cwd="/").stdout.strip()
    assert out == "[]"


def test_generator_from_repo_schema(tmp_path):
    """schema/generate.py turns the repo's schema/ into a stdlib-only module that
    behaves like the installed one."""
    pytest.importorskip("fastjsonschema")
    import importlib.util

    sys.path.insert(0, str(REPO))
    try:
        from schema.generate import write_generated
    finally:
        sys.path.remove(str(REPO))
    out = tmp_path / "_schema_generated.py"
    write_generated(REPO / "schema", out)
    spec = importlib.util.spec_from_file_location("_fresh_schema_generated", out)
    fresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fresh)
    docs = [load(p) for p in upstream_files("config", "good")] + [load(p) for p in LOCAL_CONFIGS.values()]
    for doc in docs:
        assert fresh.validate_config(doc) is None
        broken = dict(doc, process={"cwd": 5})
        with pytest.raises(fresh.SchemaValidationError):
            fresh.validate_config(broken)
    assert fresh.validate_state(load(upstream_files("state", "good")[0])) is None
    with pytest.raises(fresh.SchemaValidationError):
        fresh.validate_state({})


def test_installed_schema_files_match_repo():
    for path in (REPO / "schema").glob("*.json"):
        assert (Path(validation.SCHEMA_DIR) / path.name).read_text() == path.read_text(), path.name


# ---- where the upstream schema and the spec text disagree ---------------------------------
#
# Each entry: (name, predicate over a config, expected verdict of OUR schema for a doc
# whose only problem is this one, spec quote).  Docs matching any predicate are left
# out of the comparison with upstream; test_divergence checks each one explicitly.


def _get(doc, *path):
    for part in path:
        if isinstance(doc, dict) and isinstance(part, str) and part in doc:
            doc = doc[part]
        elif isinstance(doc, list) and isinstance(part, int) and 0 <= part < len(doc):
            doc = doc[part]
        else:
            return None
    return doc


def _items(doc, *path):
    value = _get(doc, *path)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _values(doc, *path):
    value = _get(doc, *path)
    return value if isinstance(value, dict) else {}


def _non_windows(doc):
    return isinstance(doc, dict) and "windows" not in doc


SEMVER = re.compile(load(Path(validation.SCHEMA_DIR) / "defs.json")["definitions"]["SemVer"]["pattern"])


def _hooks(doc):
    return [h for name in _values(doc, "hooks") for h in _items(doc, "hooks", name)]


def _has_int(entry, key, lo, hi):
    v = entry.get(key)
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


DIVERGENCES = [
    ("ociVersion-semver",
     lambda d: isinstance(_get(d, "ociVersion"), str) and not SEMVER.search(d["ociVersion"]),
     "ociVersion (string, REQUIRED) MUST be in SemVer v2.0.0 format"),
    ("root-required",
     lambda d: _non_windows(d) and "root" not in d,
     "root ... On Windows, for Windows Server Containers, this field is REQUIRED. ... "
     "On all other platforms, this field is REQUIRED."),
    ("args-non-empty",
     lambda d: _non_windows(d) and _get(d, "process", "args") == [],
     "args ... This specification extends the IEEE standard in that at least one entry is REQUIRED (non-Windows)"),
    ("cwd-absolute",
     lambda d: _non_windows(d) and isinstance(_get(d, "process", "cwd"), str)
     and not d["process"]["cwd"].startswith("/"),
     "cwd (string, REQUIRED) ... This value MUST be an absolute path."),
    ("posix-user-uid-gid",
     lambda d: _non_windows(d) and isinstance(_get(d, "process", "user"), dict)
     and not {"uid", "gid"} <= d["process"]["user"].keys(),
     "POSIX-platform User: uid (int, REQUIRED) ... gid (int, REQUIRED)"),
    ("ioPriority-priority-required",
     lambda d: isinstance(_get(d, "process", "ioPriority"), dict) and "priority" not in d["process"]["ioPriority"],
     "ioPriority ... priority (int, REQUIRED) specifies the priority level within the class."),
    ("hook-path-absolute",
     lambda d: any(isinstance(h.get("path"), str) and not h["path"].startswith("/") for h in _hooks(d)),
     "hooks ... path (string, REQUIRED) ... This specification extends the IEEE standard in that path MUST be absolute."),
    ("mount-idmappings-pair",
     lambda d: any(("uidMappings" in m) != ("gidMappings" in m) for m in _items(d, "mounts")),
     "uidMappings ... If specified, it MUST be specified along with gidMappings."),
    ("empty-map-key",
     lambda d: any("" in m for m in (_values(d, "annotations"), _values(d, "linux", "sysctl"),
                                     _values(d, "linux", "resources", "unified"))),
     "annotations ... Keys MUST NOT be an empty string."),
    ("namespace-path-absolute",
     lambda d: any(isinstance(n.get("path"), str) and not n["path"].startswith("/")
                   for n in _items(d, "linux", "namespaces")),
     "namespaces ... path (string, OPTIONAL) - namespace file. This value MUST be an absolute path"),
    ("device-major-minor-required",
     lambda d: any(dev.get("type") in ("c", "b", "u") and not {"major", "minor"} <= dev.keys()
                   for dev in _items(d, "linux", "devices")),
     "devices ... major, minor (int64, REQUIRED unless type is p)"),
    ("device-fileMode-uint32",
     lambda d: any(_has_int(dev, "fileMode", 512, 2**32 - 1) for dev in _items(d, "linux", "devices")),
     "devices ... fileMode (uint32, OPTIONAL) - file mode for the device."),
    ("cgroup-device-type-access",
     lambda d: any((isinstance(dev.get("type"), str) and dev["type"] not in ("a", "c", "b"))
                   or (isinstance(dev.get("access"), str) and not re.fullmatch("[rwm]*", dev["access"]))
                   for dev in _items(d, "linux", "resources", "devices")),
     "Allowed Device list ... type (string, OPTIONAL) - type of device: a (all), c (char), or b (block). ... "
     "access (string, OPTIONAL) - cgroup permissions for device. A composition of r (read), w (write), and m (mknod)."),
    ("pids-limit-optional",
     lambda d: isinstance(_get(d, "linux", "resources", "pids"), dict)
     and "limit" not in d["linux"]["resources"]["pids"],
     "pids ... limit (int64, OPTIONAL) - specifies the maximum number of tasks in the cgroup"),
    ("throttle-rate-required",
     lambda d: any("rate" not in t for name in ("throttleReadBpsDevice", "throttleWriteBpsDevice",
                                                "throttleReadIOPSDevice", "throttleWriteIOPSDevice")
                   for t in _items(d, "linux", "resources", "blockIO", name)),
     "throttleReadBpsDevice, throttleWriteBpsDevice ... rate (uint64, REQUIRED)"),
    ("rdma-one-of-required",
     lambda d: any(isinstance(e, dict) and not {"hcaHandles", "hcaObjects"} & e.keys()
                   for e in _values(d, "linux", "resources", "rdma").values()),
     "rdma ... You MUST specify at least one of the hcaHandles or hcaObjects in a given entry"),
    ("memoryPolicy-mode-required",
     lambda d: isinstance(_get(d, "linux", "memoryPolicy"), dict) and "mode" not in d["linux"]["memoryPolicy"],
     "memoryPolicy ... mode (string, REQUIRED)"),
    ("personality-domain-required",
     lambda d: isinstance(_get(d, "linux", "personality"), dict) and "domain" not in d["linux"]["personality"],
     "personality ... domain (string, REQUIRED) - the execution domain."),
    ("listenerMetadata-needs-listenerPath",
     lambda d: isinstance(_get(d, "linux", "seccomp"), dict) and "listenerMetadata" in d["linux"]["seccomp"]
     and "listenerPath" not in d["linux"]["seccomp"],
     "listenerMetadata ... This field MUST NOT be set if listenerPath is not set."),
    ("timeOffsets-any-clock",
     lambda d: any(k not in ("boottime", "monotonic") for k in _values(d, "linux", "timeOffsets")),
     "timeOffsets ... The name of the clock is the entry key. Entry values are objects with the following "
     "properties (upstream only checks the boottime and monotonic keys)"),
    ("vm-iomems-every-item",
     lambda d: isinstance(_get(d, "vm", "hwConfig", "iomems"), list) and len(d["vm"]["hwConfig"]["iomems"]) > 1,
     "vm.hwConfig.iomems: upstream uses the tuple form of 'items', which checks only the first entry"),
]

# The matching spec-faithful verdicts (for a doc that is otherwise valid).
DIVERGENCE_EXAMPLES = {
    "ociVersion-semver": (lambda d: d.update(ociVersion="1.0"), False),
    "root-required": (lambda d: d.pop("root"), False),
    "args-non-empty": (lambda d: d["process"].update(args=[]), False),
    "cwd-absolute": (lambda d: d["process"].update(cwd="srv"), False),
    "posix-user-uid-gid": (lambda d: d["process"]["user"].pop("gid"), False),
    "ioPriority-priority-required": (lambda d: d["process"]["ioPriority"].pop("priority"), False),
    "hook-path-absolute": (lambda d: d["hooks"]["poststop"][0].update(path="cleanup.sh"), False),
    "mount-idmappings-pair": (lambda d: d["mounts"][1].pop("gidMappings"), False),
    "empty-map-key": (lambda d: d["annotations"].update({"": "x"}), False),
    "namespace-path-absolute": (lambda d: d["linux"]["namespaces"][1].update(path="proc/1/ns/net"), False),
    "device-major-minor-required": (lambda d: d["linux"]["devices"][0].pop("minor"), False),
    "device-fileMode-uint32": (lambda d: d["linux"]["devices"][0].update(fileMode=0o4755), True),
    "cgroup-device-type-access": (lambda d: d["linux"]["resources"]["devices"][1].update(access="rwx"), False),
    "pids-limit-optional": (lambda d: d["linux"]["resources"]["pids"].pop("limit"), True),
    "throttle-rate-required": (lambda d: d["linux"]["resources"]["blockIO"]["throttleReadBpsDevice"][0].pop("rate"),
                               False),
    "rdma-one-of-required": (lambda d: d["linux"]["resources"]["rdma"].update(mlx={}), False),
    "memoryPolicy-mode-required": (lambda d: d["linux"]["memoryPolicy"].pop("mode"), False),
    "personality-domain-required": (lambda d: d["linux"]["personality"].pop("domain"), False),
    "listenerMetadata-needs-listenerPath": (lambda d: d["linux"]["seccomp"].pop("listenerPath"), False),
    "timeOffsets-any-clock": (lambda d: d["linux"]["timeOffsets"].update(realtime=5), False),
    "vm-iomems-every-item": (None, False),
}


def divergence(doc):
    for name, predicate, _quote in DIVERGENCES:
        if predicate(doc):
            return name
    return None


@pytest.mark.parametrize("name", [d[0] for d in DIVERGENCES])
def test_divergence(name):
    mutate, ours = DIVERGENCE_EXAMPLES[name]
    if name == "vm-iomems-every-item":
        doc = copy.deepcopy(load(HERE / "schema_platforms.json")[2])
        doc["vm"]["hwConfig"]["iomems"].append({"firstGFN": 1})
    else:
        doc = copy.deepcopy(load(LOCAL_CONFIGS["kitchen-sink"]))
        mutate(doc)
    assert divergence(doc) == name
    assert fast_config_ok(doc) is ours
    assert slow_config_ok(doc) is ours
    assert (validation.config_problems(doc) == []) is ours
    assert UPSTREAM_CONFIG.is_valid(doc) is (not ours)


# ---- hypothesis: mutated corpus, three-way agreement ---------------------------------------

BASE_CONFIGS = (
    [load(p) for p in upstream_files("config", "good")]
    + [load(p) for p in LOCAL_CONFIGS.values()]
    + load(HERE / "schema_platforms.json")
)

# Replacement values.  No integral floats (1.0): draft-04 (upstream) and draft-07 (ours)
# disagree on whether 1.0 is an integer, and Go's decoder rejects it anyway.
REPLACEMENTS = [
    "x", "", "BOGUS_VALUE", "relative/path", "/abs/path", "1.0", "RLIMIT_bogus", "64kB",
    -1, 0, 1, 1.5, 2**31, 2**32, -(2**31) - 1, 2**63, 2**64, -(2**63) - 1, 7,
    True, False, None, [], ["x"], [1], {}, {"x": 1},
]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _parent(doc, path):
    node = doc
    for part in path[:-1]:
        node = node[part]
    return node


@st.composite
def mutated_configs(draw, max_mutations=3):
    doc = copy.deepcopy(draw(st.sampled_from(BASE_CONFIGS)))
    for _ in range(draw(st.integers(0, max_mutations))):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths))
        if not path:
            continue
        parent, key = _parent(doc, path), path[-1]
        value = parent[key]
        ops = ["delete", "replace"]
        if isinstance(value, str):
            ops += ["str"]
        if isinstance(value, int) and not isinstance(value, bool):
            ops += ["int"]
        if isinstance(value, list):
            ops += ["empty", "append", "dup"]
        if isinstance(value, dict):
            ops += ["empty", "unknown-key"]
        op = draw(st.sampled_from(ops))
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = copy.deepcopy(draw(st.sampled_from(REPLACEMENTS)))
        elif op == "str":
            parent[key] = draw(st.sampled_from(["BOGUS_VALUE", "", "relative", value.lower(), value + "x"]))
        elif op == "int":
            parent[key] = draw(st.sampled_from([-1, -value - 1, value + 2**32, 2**64, 0]))
        elif op == "empty":
            value.clear()
        elif op == "append":
            value.append(copy.deepcopy(draw(st.sampled_from(REPLACEMENTS))))
        elif op == "dup" and value:
            value.append(copy.deepcopy(value[0]))
        elif op == "unknown-key":
            # Unknown properties MUST be ignored (config.md, Extensibility).
            value["x-unknown"] = {}
    return doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_configs())
def test_config_validators_agree_with_upstream(doc):
    fast, slow = fast_config_ok(doc), slow_config_ok(doc)
    assert fast == slow, validation.config_problems(doc)
    assert (validation.config_problems(doc) == []) == fast
    if divergence(doc) is None:
        assert fast == UPSTREAM_CONFIG.is_valid(doc), (doc, validation.config_problems(doc))


BASE_STATES = [
    load(p) for p in upstream_files("state", "good")
] + [
    {"ociVersion": "1.3.0", "id": "c1", "status": "created", "pid": 4242, "bundle": "/run/bundle",
     "annotations": {"a": "b"}},
    {"ociVersion": "1.3.0", "id": "c2", "status": "stopped", "bundle": "/run/bundle"},
    {"ociVersion": "1.3.0", "id": "c3", "status": "creating", "pid": 0, "bundle": "/b"},
]

STATE_DIVERGENCES = [
    # "Additional values MAY be defined by the runtime" (runtime.md, State): ours adds "paused".
    lambda d: _get(d, "status") == "paused",
    # "pid (int, REQUIRED when status is created or running on Linux ...)"
    lambda d: isinstance(d, dict) and d.get("status") in ("created", "running", "paused") and "pid" not in d,
    # "bundle (string, REQUIRED) is the absolute path to the container's bundle directory."
    lambda d: isinstance(_get(d, "bundle"), str) and not d["bundle"].startswith("/"),
    # annotations keys MUST NOT be empty (config.md, Annotations)
    lambda d: "" in _values(d, "annotations"),
]


@st.composite
def mutated_states(draw):
    doc = copy.deepcopy(draw(st.sampled_from(BASE_STATES)))
    for _ in range(draw(st.integers(0, 2))):
        path = draw(st.sampled_from(list(_paths(doc))))
        if not path:
            continue
        parent = _parent(doc, path)
        op = draw(st.sampled_from(["delete", "replace", "status"]))
        if op == "delete":
            del parent[path[-1]]
        elif op == "status":
            parent[path[-1]] = draw(st.sampled_from(["creating", "created", "running", "stopped", "paused", "zombie"]))
        else:
            parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(REPLACEMENTS)))
    return doc


@settings(max_examples=150, deadline=None)
@given(mutated_states())
def test_state_validators_agree_with_upstream(doc):
    fast, slow = fast_state_ok(doc), slow_state_ok(doc)
    assert fast == slow, validation.state_problems(doc)
    assert (validation.state_problems(doc) == []) == fast
    if not any(p(doc) for p in STATE_DIVERGENCES):
        assert fast == UPSTREAM_STATE.is_valid(doc), (doc, validation.state_problems(doc))


def test_mutation_corpus_exercises_both_verdicts():
    """Guard against a corpus that is all-valid or all-invalid."""
    from hypothesis import find

    find(mutated_configs(), lambda d: divergence(d) is None and not fast_config_ok(d),
         settings=settings(max_examples=500, deadline=None))
    find(mutated_configs(), lambda d: d not in BASE_CONFIGS and fast_config_ok(d),
         settings=settings(max_examples=500, deadline=None))
