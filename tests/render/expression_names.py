"""The names and variables the expression tables evaluate against (as a render passes them)."""
from __future__ import annotations

from chalicelib.render.expressions import evaluate

NAMES = {
    "image": {
        "width": 800,
        "height": 600,
        "format": "jpg",
        "hash": "abc123def456",
        "isAnimated": False,
        "hasSubjectArea": True,
        "subject_area": {"x": 1, "y": 2, "width": 300, "height": 200},
        "hasDetectionFace": True,
        "detection_face": {"x": 10, "y": 20, "width": 100, "height": 120},
        "meta_user": {"title": "Hello", "count": 3},
        "entropy": 0.5,
    },
    "options": {"dpr": 2, "jpg.quality": 80, "autoformat": True},
    "request": {"headers": {"save_data": "on"}},
    "list": [10, 20, 30],
    "nested": {"a": {"b": {"c": 7}}},
    "zero": 0,
    "empty": "",
    "nothing": None,
    "notes": "n",
    "x": 1,
}
VARIABLES = {"width": 400, "w": "800", "name": "rokka", "ratio": 1.5, "flag": True, "nil": None}


def ev(expr, names=NAMES, variables=VARIABLES):
    return evaluate(expr, names, variables)
