"""noop: does nothing (deprecated in rokka; an empty operation list does the same)."""
from __future__ import annotations

from chalicelib.operations.base import OperationSpec


def apply(ctx, opts: dict) -> None:
    """Leave the image as it is; clients still send `dynamic/noop`."""


SPEC = OperationSpec(
    name="noop",
    options={},
    apply=apply,
    description="Does nothing. Deprecated: an empty list of operations does the same.",
)
