"""The plain predicates that stand in for the schema's regexes agree with re."""

import re

import pytest
from hypothesis import given, settings, strategies as st

from runtime.schema_patterns import PREDICATES, SEMVER, Pattern

# Strings built from the characters the patterns care about, so that the
# interesting cases (near misses) are common, plus arbitrary text.
_ALPHABET = "0123456789.-+ABKMGRLIMT_rwmabz, /:\n"
_near = st.text(alphabet=_ALPHABET, max_size=24)
_SAMPLES = ["", "/", "/a", "a/", "MB:", "MB:x\n", "rwm", "rw\n", "rwx", "64KB", "1GB", "0MB", "10B", "1KB\n",
            "RLIMIT_NOFILE", "RLIMIT_", "RLIMIT_nofile", "0-3,5", "1.0.0", "1.3.0", "01.0.0", "1.0", "1.0.0-rc.1",
            "1.0.0-01", "1.0.0-0", "1.0.0-rc1+build.5", "1.0.0+", "1.0.0-", "1.0.0-a..b", "1.0.0\n", "1.0.0-x-y",
            "1.2.3-0a", "1.2.3+01", "1.2.3-alpha+b-c.d"]


@pytest.mark.parametrize("source", sorted(PREDICATES))
@pytest.mark.parametrize("sample", _SAMPLES)
def test_samples_agree_with_re(source, sample):
    assert bool(Pattern(source).search(sample)) == bool(re.compile(source).search(sample)), (source, sample)


@pytest.mark.parametrize("source", sorted(PREDICATES))
@settings(max_examples=300, deadline=None)
@given(s=st.one_of(_near, st.text(max_size=12)))
def test_random_strings_agree_with_re(source, s):
    assert bool(Pattern(source).search(s)) == bool(re.compile(source).search(s)), (source, s)


@settings(max_examples=300, deadline=None)
@given(s=st.from_regex(SEMVER, fullmatch=True))
def test_every_semver_is_accepted(s):
    assert Pattern(SEMVER).search(s)


def test_unknown_pattern_falls_back_to_re():
    p = Pattern(r"^a+b$")
    assert p.search("aab") and not p.search("b")
