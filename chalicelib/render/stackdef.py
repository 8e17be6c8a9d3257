"""Stack definitions: the three body forms, validation before storing, and resolution at
render time (URL overrides, variables, expressions) into validated operations."""
from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.errors import BadRequest, InvalidOperation
from chalicelib.operations import registry
from chalicelib.render import expressions, stack_options
from chalicelib.render.url import Expr, RenderRequest, header as _header


@dataclass
class StackDefinition:
    operations: list = field(default_factory=list)  # [{"name", "options", "expressions"?}]
    options: dict = field(default_factory=dict)
    expressions: list = field(default_factory=list)
    variables: dict = field(default_factory=dict)
    description: str | None = None


def _obj(value, what: str) -> dict:
    # PHP's client encodes empty maps as [].
    if value is None or value == []:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{what} must be an object")
    return value


def normalize(body) -> StackDefinition:
    """Accept the legacy array, the short-key object and the swagger-key object forms."""
    if isinstance(body, list):
        body = {"operations": body}
    if not isinstance(body, dict):
        raise BadRequest("Stack definition must be an object or an array of operations")
    ops = body.get("operations", body.get("stack_operations", []))
    if ops is None or ops == {}:
        ops = []
    if not isinstance(ops, list):
        raise BadRequest("operations must be an array")
    operations = []
    for i, op in enumerate(ops):
        if not isinstance(op, dict) or not isinstance(op.get("name"), str):
            raise BadRequest(f"Operation #{i + 1} must be an object with a name")
        clean = {"name": op["name"], "options": _obj(op.get("options"), f"Options of {op['name']}")}
        exprs = _obj(op.get("expressions"), f"Expressions of {op['name']}")
        if exprs:
            clean["expressions"] = exprs
        operations.append(clean)
    stack_exprs = body.get("expressions", body.get("stack_expressions", []))
    if stack_exprs in (None, {}):
        stack_exprs = []
    if not isinstance(stack_exprs, list):
        raise BadRequest("expressions must be an array")
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise BadRequest("description must be a string")
    return StackDefinition(
        operations=operations,
        options=_obj(body.get("options", body.get("stack_options")), "options"),
        expressions=[_stack_expression(e) for e in stack_exprs],
        variables=_obj(body.get("variables", body.get("stack_variables")), "variables"),
        description=description,
    )


def _stack_expression(e) -> dict:
    if not isinstance(e, dict) or not isinstance(e.get("expression"), str):
        raise BadRequest("A stack expression needs an 'expression' string")
    overrides = _obj(e.get("overrides"), "overrides")
    return {"expression": e["expression"],
            "overrides": {"options": _obj(overrides.get("options"), "overrides.options"),
                          "variables": _obj(overrides.get("variables"), "overrides.variables")}}


def is_deferred(value) -> bool:
    """A value known only at render time: an [expression] or a $variable reference."""
    return isinstance(value, Expr) or (isinstance(value, str) and value.startswith("$"))


def validate(defn: StackDefinition, max_operations: int) -> StackDefinition:
    """Check everything that can be checked before a render: names, options, expression syntax."""
    if len(defn.operations) > max_operations:
        raise BadRequest(f"A stack can have at most {max_operations} operations")
    for op in defn.operations:
        spec = registry.get(op["name"])
        exprs = op.get("expressions", {})
        for key, source in exprs.items():
            _check_expression(source, f"Operation {op['name']}, expression for {key}")
        deferred = frozenset(k for k, v in op["options"].items() if is_deferred(v)) | frozenset(exprs)
        literal = {k: v for k, v in op["options"].items() if k not in deferred}
        op["options"] = {**op["options"], **spec.validate(literal, deferred)}
    defn.options = stack_options.validate(defn.options)
    for e in defn.expressions:
        _check_expression(e["expression"], "Stack expression")
        stack_options.validate(e["overrides"]["options"], "Stack expression override option")
    for name, value in defn.variables.items():
        if not isinstance(name, str) or not name:
            raise BadRequest("Variable names must be strings")
        if isinstance(value, (dict, list)):
            raise BadRequest(f"Variable {name} must be a scalar")
    if defn.options.get("source_file") and (defn.operations or len(defn.options) > 1):
        raise BadRequest("source_file requires no operations and no other options")
    return defn


def _check_expression(source, where: str) -> None:
    if not isinstance(source, str):
        raise BadRequest(f"{where} must be a string")
    expressions.parse(source)


# --- render time -------------------------------------------------------------------------

def resolve(defn: StackDefinition, req: RenderRequest, image_props: dict, headers: dict,
            url_operations: list | None = None) -> tuple[list, dict]:
    """Apply URL overrides, variables and expressions; return ([(spec, options)], options).

    Every operation is validated here, before any pixel is touched.
    """
    options = stack_options.validate({**defn.options, **req.options})
    request = {"headers": {"save_data": "on" if _header(headers, "save-data") == "on" else None}}
    variables: dict = {}
    for name, value in defn.variables.items():
        variables[name] = _variable(value, variables, image_props, options, request)
    for name, value in req.variables.items():
        if isinstance(value, Expr):
            value = _eval(value.source, image_props, options, request, variables)
        variables[name] = value

    for e in defn.expressions:
        if _truthy(_eval(e["expression"], image_props, _with_defaults(options), request, variables)):
            options.update(stack_options.validate(e["overrides"]["options"]))
            variables.update(e["overrides"]["variables"])

    if url_operations is not None:  # a dynamic stack: operations come from the URL
        ops = [dict(name=name, options=dict(values), expressions={}) for name, values in url_operations]
    else:
        ops = [dict(name=o["name"], options=dict(o["options"]), expressions=dict(o.get("expressions", {})))
               for o in defn.operations]
    for name, values in req.overrides:
        targets = [o for o in ops if o["name"] == name]
        if not targets:
            raise InvalidOperation(f"Operation {name} is not part of stack {req.stack}")
        for o in targets:
            o["options"].update(values)
            for key in values:
                o["expressions"].pop(key, None)

    resolved = []
    names_opts = _with_defaults(options)
    for o in ops:
        spec = registry.get(o["name"])
        values = {}
        for key, value in o["options"].items():
            if isinstance(value, Expr):
                value = _eval(value.source, image_props, names_opts, request, variables)
            elif isinstance(value, str) and value.startswith("$"):
                if value[1:] not in variables:
                    raise BadRequest(f"Variable {value} is not defined")
                value = variables[value[1:]]
            values[key] = value
        for key, source in o["expressions"].items():
            values[key] = _eval(source, image_props, names_opts, request, variables)
        clean = spec.with_defaults(spec.validate(values))
        if clean.get("enabled", True):
            resolved.append((spec, clean))
    return resolved, options


def _variable(value, variables, image_props, options, request):
    if isinstance(value, str) and expressions.is_expression(value):
        return _eval(value, image_props, _with_defaults(options), request, variables)
    return value


def _eval(source: str, image_props, options, request, variables):
    return expressions.evaluate(source, expressions.variables.names(image_props, options, request), variables)


def _with_defaults(options: dict) -> dict:
    full = {k: o.default for k, o in stack_options.STACK_OPTIONS.items()}
    full.update(options)
    return full


def _truthy(value) -> bool:
    return value not in (None, False, 0, 0.0, "", "0", [], {})
