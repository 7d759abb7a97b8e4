"""Convert a CustomResourceDefinition's openAPIV3Schema into a JSON schema for the tests.

    python tests/tools/crd_schema.py CRD.yaml VERSION OUT.json

Kubernetes' structural schemas are JSON schema plus ``x-kubernetes-*`` extensions. The
conversion keeps their meaning for validation:

- ``x-kubernetes-int-or-string`` becomes ``anyOf: [integer, string]``;
- an object with ``properties`` and no ``x-kubernetes-preserve-unknown-fields`` gets
  ``additionalProperties: false``, as the API server's strict field validation
  (``kubectl apply --validate=strict``) rejects unknown fields instead of pruning them;
- the other extensions and the descriptions are dropped; ``apiVersion`` and ``kind`` are pinned to the CRD's.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml


def convert(node: Any) -> Any:
    """One schema node, converted (recursively); descriptions dropped (they do not validate)."""
    if isinstance(node, list):
        return [convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":  # property names, not keywords: keep every one
            out[key] = {name: convert(sub) for name, sub in value.items()}
        elif not key.startswith("x-kubernetes-") and key != "description":
            out[key] = convert(value)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    preserve = node.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in node and not preserve and "additionalProperties" not in node:
        out["additionalProperties"] = False
    return out


def crd_schema(crd: dict[str, Any], version: str) -> dict[str, Any]:
    """The JSON schema of ``version`` of the resource ``crd`` defines."""
    spec = crd["spec"]
    served = next(v for v in spec["versions"] if v["name"] == version)
    schema = convert(served["schema"]["openAPIV3Schema"])
    props = schema.setdefault("properties", {})
    props["apiVersion"] = {"const": f"{spec['group']}/{version}"}
    props["kind"] = {"const": spec["names"]["kind"]}
    props["metadata"] = {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string"}, "labels": {"type": "object"}},
    }
    schema["required"] = sorted({*schema.get("required", ()), "apiVersion", "kind", "metadata"})
    return {"$schema": "http://json-schema.org/draft-07/schema#", **schema}


def main(argv: list[str]) -> None:
    source, version, target = argv
    crd = next(d for d in yaml.safe_load_all(Path(source).read_text()) if d)
    Path(target).write_text(json.dumps(crd_schema(crd, version), separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
