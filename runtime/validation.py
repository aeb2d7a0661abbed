"""Schema validation of config.json and state.json documents.

The happy path is a call into ``runtime._schema_generated``: plain Python
generated from schema/*.json at build time (schema/generate.py), so ``create``
neither imports jsonschema nor reads the schema files.  Only when a document
is invalid is jsonschema imported, to list every problem in a readable form:

    process.args: [] should be non-empty
    mounts[2].destination: 5 is not of type 'string'
    (root): 'ociVersion' is a required property
"""

from __future__ import annotations

import os

from runtime import _schema_generated

SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema")
CONFIG_SCHEMA = "config-schema.json"
STATE_SCHEMA = "state-schema.json"

_validators: dict = {}


def config_problems(doc: object) -> list[str]:
    """[] if doc is a valid OCI config.json document, else one line per problem."""
    try:
        _schema_generated.validate_config(doc)
    except _schema_generated.SchemaValidationError as exc:
        return _problems(CONFIG_SCHEMA, doc, exc)
    return []


def state_problems(doc: object) -> list[str]:
    """[] if doc is a valid OCI state document, else one line per problem."""
    try:
        _schema_generated.validate_state(doc)
    except _schema_generated.SchemaValidationError as exc:
        return _problems(STATE_SCHEMA, doc, exc)
    return []


# ---- slow path: only for invalid documents ---------------------------------


def _validator(root: str):
    validator = _validators.get(root)
    if validator is None:
        import json

        import jsonschema
        from referencing import Registry
        from referencing.jsonschema import DRAFT7

        contents = {}
        for name in sorted(os.listdir(SCHEMA_DIR)):
            if name.endswith(".json"):
                with open(os.path.join(SCHEMA_DIR, name), encoding="utf-8") as f:
                    contents[name] = json.load(f)
        # The files refer to each other by file name ("defs.json#/definitions/..."):
        # register each under that name so relative refs resolve.
        registry = Registry().with_resources(
            (name, DRAFT7.create_resource(doc)) for name, doc in contents.items()
        )
        validator = jsonschema.Draft7Validator(contents[root], registry=registry)
        _validators[root] = validator
    return validator


def _problems(root: str, doc: object, fast_exc: Exception) -> list[str]:
    problems = {}
    for error in _validator(root).iter_errors(doc):
        path, message = _describe(error)
        problems.setdefault((_sort_key(path), message), f"{_format_path(path)}: {message}")
    if not problems:
        # The two validators disagree: never call an invalid document valid.
        return [f"(root): {fast_exc}"]
    return [problems[key] for key in sorted(problems)]


def _describe(error) -> tuple[list, str]:
    from jsonschema.exceptions import best_match

    if error.validator in ("anyOf", "oneOf") and error.context:
        alternatives = [e for e in error.context if e.validator == "required" and not e.relative_path]
        if len(alternatives) == len(error.context):
            names = ", ".join(repr(e.validator_value[0]) if len(e.validator_value) == 1 else repr(e.validator_value)
                              for e in alternatives)
            return list(error.absolute_path), f"at least one of {names} is required"
        error = best_match([error])
    message = error.message
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "pattern" and schema.get("description"):
        message = f"{error.instance!r} is not {schema['description']}"
    elif error.validator == "enum" and isinstance(error.validator_value, list) and len(error.validator_value) > 12:
        known = ", ".join(repr(v) for v in error.validator_value[:4])
        message = f"{error.instance!r} is not one of the {len(error.validator_value)} known values ({known}, ...)"
    path = list(error.absolute_path)
    if "propertyNames" in error.relative_schema_path:
        message = f"invalid key: {message}"
    return path, message


def _sort_key(path: list) -> tuple:
    # Array indices sort numerically (mounts[2] before mounts[10]).
    return tuple((0, part, "") if isinstance(part, int) else (1, 0, str(part)) for part in path)


def _format_path(path: list) -> str:
    if not path:
        return "(root)"
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part and part.replace("_", "a").replace("-", "a").isalnum() and not part[0].isdigit():
            out += f".{part}" if out else part
        else:
            # keys such as sysctl names or annotation keys contain dots
            out += f"[{part!r}]"
    return out
