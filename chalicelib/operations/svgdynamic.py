"""svgdynamic: set attributes of elements of an SVG source, by element id, before it is drawn.

`changes` is a list of {"id": ..., "attr": ..., "value": ...}. The changes are applied to the
SVG text through the pipeline's source hook (`prepare_source`), before the SVG is rasterised
or returned as `.svg` output; `apply` has nothing left to do on pixels. Elements that do not
exist are ignored (stacks are shared between images). Non-SVG sources are left unchanged.

The document is parsed with defusedxml (no entity expansion, no external references). Event
handler attributes (on*) and javascript: values are refused: `.svg` output is served from the
render domain and may be opened directly in a browser.
"""
from __future__ import annotations

from chalicelib.errors import InvalidOperation
from chalicelib.operations.base import Option, OperationSpec
from chalicelib.limits import MAX_CHANGES



def _check(opts: dict) -> None:
    changes = opts.get("changes")
    if changes is None:
        return
    if len(changes) > MAX_CHANGES:
        raise InvalidOperation(f"Operation svgdynamic: at most {MAX_CHANGES} changes")
    for i, change in enumerate(changes):
        where = f"Operation svgdynamic, changes[{i}]"
        if not isinstance(change, dict) or set(change) != {"id", "attr", "value"}:
            raise InvalidOperation(f"{where}: must be an object with exactly the keys id, attr and value")
        if not isinstance(change["id"], (str, int)) or isinstance(change["id"], bool) or change["id"] == "":
            raise InvalidOperation(f"{where}: id must be a non-empty string")
        if not isinstance(change["value"], (str, int, float, bool)):
            raise InvalidOperation(f"{where}: value must be a string or a number")
        from chalicelib.render.formats_vector import check_attribute_change

        try:
            check_attribute_change(change["attr"], change["value"])
        except Exception as exc:  # BadRequest → the operation's validation error
            raise InvalidOperation(f"{where}: {getattr(exc, 'message', exc)}") from None


def prepare_source(data: bytes, source: dict, opts: dict) -> bytes:
    """The SVG with the changes applied (the pipeline calls this before decoding)."""
    from chalicelib.render import formats_vector

    changes = opts.get("changes") or []
    if not changes or formats_vector.sniff(data) != "svg":
        return data
    _check({"changes": changes})
    doc = formats_vector.parse_svg(data)
    formats_vector.apply_changes(doc, changes)
    return formats_vector.serialize(doc)


def apply(ctx, opts: dict) -> None:
    """Nothing to do on pixels: prepare_source changed the SVG before it was drawn."""


SPEC = OperationSpec(
    name="svgdynamic",
    options={"changes": Option("array", description="Attribute changes: [{id, attr, value}, ...]")},
    apply=apply,
    required=("changes",),
    check=_check,
    description="Sets attributes of elements (by id) of an SVG source image before it is rendered.",
)
