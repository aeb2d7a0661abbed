"""Where the upstream runtime-spec (schema and its good/bad test configs) is.

It is a test oracle only, never part of the project: looked for beside the
checkout (the workspace layout), or where RT_SPEC_REFERENCE points."""

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
_CANDIDATES = [Path(p) for p in (os.environ.get("RT_SPEC_REFERENCE"),) if p] + [
    _REPO.parent / "shared" / "reference" / "oci-runtime-spec-v1.3.0",
    _REPO.parent.parent / "shared" / "reference" / "oci-runtime-spec-v1.3.0",
    Path("/work/shared/reference/oci-runtime-spec-v1.3.0"),
]
REFERENCE = next((c for c in _CANDIDATES if (c / "schema").is_dir()), _CANDIDATES[0])
UPSTREAM_SCHEMA = REFERENCE / "schema"
