"""The merge template: infra/merge.yaml loaded as Chalice reads it, inlined code, pruned overrides."""
from __future__ import annotations

import re
from pathlib import Path

from .common import PackageError


def load_merge_template(path: Path) -> dict:
    """infra/merge.yaml as Chalice reads it (short-form tags become Fn::* dicts)."""
    from chalice.package import YAMLTemplateSerializer
    return YAMLTemplateSerializer().load_template(path.read_text(), str(path))


def inline_function_code(template: dict, base_dir: Path) -> None:
    """Fill FunctionCode of resources whose Metadata.Package names a file to inline."""
    params = template.get("Parameters", {})
    for name, res in template.get("Resources", {}).items():
        spec = (res.get("Metadata") or {}).get("Package")
        if not spec:
            continue
        source = base_dir / spec["InlineCode"]
        if not source.is_file():
            raise PackageError(f"{name}: {source} is missing")
        code = source.read_text()
        code = code.replace("${", "${!")  # Fn::Sub writes "${!x}" as a literal "${x}"
        for placeholder, param in (spec.get("Substitute") or {}).items():
            if placeholder not in code:
                raise PackageError(f"{name}: placeholder {placeholder!r} not found in {source}")
            if param not in params:
                raise PackageError(f"{name}: substitution parameter {param!r} is not a template parameter")
            code = code.replace(placeholder, "${%s}" % param)
        if len(code.encode()) > 10240:
            raise PackageError(f"{name}: {source} is over CloudFront Functions' 10 KB code limit")
        res.setdefault("Properties", {})["FunctionCode"] = {"Fn::Sub": code}
        del res["Metadata"]["Package"]
        if not res["Metadata"]:
            del res["Metadata"]


_DROP = object()
_EMPTY = object()
_SUB_VAR = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[^}]*)?\}")


def _is_intrinsic(node) -> bool:
    if not isinstance(node, dict) or len(node) != 1:
        return False
    key = next(iter(node))
    return key in ("Ref", "Condition") or key.startswith("Fn::")


def references(node) -> set[str]:
    """Logical ids an (intrinsic-bearing) template fragment refers to."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value.split(".", 1)[0] if isinstance(value, str) else value[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                local = set() if isinstance(value, str) else set(value[1])
                found.update(v for v in _SUB_VAR.findall(text) if v not in local)
                if not isinstance(value, str):
                    found.update(references(value[1]))
            else:
                found.update(references(value))
    elif isinstance(node, list):
        for item in node:
            found.update(references(item))
    return found


def _prune(node, dropped: set[str]):
    """Remove what refers to `dropped`: the nearest enclosing list item, else the whole node."""
    if isinstance(node, dict):
        if _is_intrinsic(node):
            return _DROP if references(node) & dropped else node
        out = {}
        for key, value in node.items():
            result = _prune(value, dropped)
            if result is _DROP:
                return _DROP
            if result is not _EMPTY:
                out[key] = result
        return out if out or not node else _EMPTY
    if isinstance(node, list):
        out = [r for r in (_prune(item, dropped) for item in node) if r is not _DROP and r is not _EMPTY]
        return out if out or not node else _EMPTY
    return node


def _prune_resource(res: dict, dropped: set[str]):
    res = dict(res)
    depends = res.get("DependsOn")
    if depends is not None:
        depends = [d for d in ([depends] if isinstance(depends, str) else depends) if d not in dropped]
        if depends:
            res["DependsOn"] = depends if len(depends) > 1 else depends[0]
        else:
            del res["DependsOn"]
    return _prune(res, dropped)


def prune_missing_functions(merge: dict, base_resources: dict) -> tuple[dict, list[str]]:
    """Leave out merge-template overrides of resources Chalice did not generate, and whatever
    only makes sense with them. Returns the pruned template and what was left out."""
    resources = merge.get("Resources", {})
    missing = {name for name, res in resources.items() if "Type" not in res and name not in base_resources}
    dropped = set(missing)
    while True:  # dropping a resource can make others refer to nothing
        newly = {name for name, res in resources.items()
                 if name not in dropped and _prune_resource(res, dropped) is _DROP}
        if not newly:
            break
        dropped |= newly
    notes = [f"{name} (override of a function the app does not define)" for name in sorted(missing)]
    notes += [f"{name} (refers to {', '.join(sorted(references(resources[name]) & dropped))})"
              for name in sorted(dropped - missing)]
    kept = {}
    for name, res in resources.items():
        if name in dropped:
            continue
        kept[name] = _prune_resource(res, dropped)
        if kept[name] != res:
            notes.append(f"{name}: the parts referring to {', '.join(sorted(references(res) & dropped))}")
    out = dict(merge)
    out["Resources"] = kept
    if "Outputs" in merge:
        out["Outputs"] = {}
        for name, value in merge["Outputs"].items():
            if references(value) & dropped:
                notes.append(f"output {name}")
            else:
                out["Outputs"][name] = value
    return out, notes

