"""config/schema.yaml as the one home of every default: the defaults of a config section (for
code and tests that build settings outside the workflow) and the key reference of
config/README.md, generated from the schema's descriptions."""

from __future__ import annotations

from pathlib import Path

import yaml

# Package data: in a source tree a link to the repository's config/schema.yaml, in an installed
# package (pip install .) a copy of it, so the defaults need no repository.
SCHEMA_PATH = Path(__file__).resolve().parent / "schema.yaml"


def load_schema(path: str | Path = SCHEMA_PATH) -> dict:
    return yaml.safe_load(Path(path).read_text())


def _resolve(node: dict, schema: dict) -> dict:
    ref = node.get("$ref")
    if ref:
        for part in ref.removeprefix("#/").split("/"):
            schema = schema[part]
        return schema
    return node


def _defaults(node: dict, schema: dict) -> dict:
    out = {}
    for key, sub in node.get("properties", {}).items():
        sub = _resolve(sub, schema)
        if "default" in sub:
            value = sub["default"]
            if isinstance(value, dict) and "properties" in sub:
                value = {**_defaults(sub, schema), **value}
            out[key] = value
    return out


def schema_defaults(*keys: str, path: str | Path = SCHEMA_PATH) -> dict:
    """Defaults the schema gives the keys of a section, e.g. schema_defaults("training") or
    schema_defaults("experiments") for one experiment's keys."""
    schema = load_schema(path)
    node = schema
    for key in keys:
        node = _resolve(node["properties"][key], schema)
    if "additionalProperties" in node and isinstance(node["additionalProperties"], dict):
        node = _resolve(node["additionalProperties"], schema)
    return _defaults(node, schema)


def _sorted(value):
    """`value` with every mapping's keys sorted: the README must not depend on whether another
    import (e.g. oyaml, which Snakemake's dependencies bring) changed how PyYAML orders keys."""
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _rows(node: dict, schema: dict, prefix: str, out: list[tuple[str, str, str, str]]) -> None:
    node = _resolve(node, schema)
    for key, sub in node.get("properties", {}).items():
        sub = _resolve(sub, schema)
        if "allOf" in sub:  # a dataset block: its own keys and its reference's
            merged = {}
            for part in sub["allOf"]:
                merged.update(_resolve(part, schema).get("properties", {}))
            sub = {"properties": merged, **{k: v for k, v in sub.items() if k != "allOf"}}
        name = f"{prefix}{key}"
        kind = sub.get("type", "")
        kind = " or ".join(kind) if isinstance(kind, list) else kind
        if "enum" in sub:
            kind = " / ".join(str(v) for v in sub["enum"])
        default = yaml.safe_dump(_sorted(sub["default"]), default_flow_style=True).strip(
        ).removesuffix("...").strip() if "default" in sub else (
            "required" if key in node.get("required", []) else "")
        out.append((name, kind or "object", default, sub.get("description", "")))
        if "properties" in sub:
            _rows(sub, schema, f"{name}.", out)
        extra = sub.get("additionalProperties")
        if isinstance(extra, dict) and ("properties" in _resolve(extra, schema)):
            _rows(_resolve(extra, schema), schema, f"{name}.<name>.", out)


def config_reference(path: str | Path = SCHEMA_PATH) -> str:
    """config/README.md: every key of config/schema.yaml with its type, default, description."""
    schema = load_schema(path)
    rows: list[tuple[str, str, str, str]] = []
    _rows(schema, schema, "", rows)
    lines = [
        "# Configuration keys",
        "",
        "Generated from `config/schema.yaml` by `python -m edaffect.io.config_schema > "
        "config/README.md` (a test checks it is up to date). Defaults live in the schema only: "
        "Snakemake's `validate(config, schema, set_default=True)` fills in every key a config "
        "leaves out. *runtime* keys change how a run is executed, never its results: they are "
        "not rule params, so changing them reruns nothing. `config.yaml` explains the chosen "
        "values; `config/paper-scale.yaml` and `config/tiny.yaml` override some.",
        "",
        "| key | type / values | default | meaning |",
        "|---|---|---|---|",
    ]
    for name, kind, default, description in rows:
        cells = [f"`{name}`", kind, f"`{default}`" if default not in ("", "required") else default,
                 description]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(config_reference(), end="")
