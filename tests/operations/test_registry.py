"""Every registered operation: schema shape and option validation."""
import pytest

from chalicelib.errors import InvalidOperation
from chalicelib.operations import registry

NAMES = sorted(registry.OPERATIONS)

# (operation, option, a value outside its declared range)
OUT_OF_RANGE = [
    (name, key, option.maximum + (1 if option.type == "integer" else 0.5))
    for name in NAMES for key, option in registry.get(name).options.items() if option.maximum is not None
] + [
    (name, key, option.minimum - 1)
    for name in NAMES for key, option in registry.get(name).options.items() if option.minimum is not None
]


def test_all_operations_are_registered():
    # rokka's whole catalogue (reference §4.2): 23 operations.
    assert set(NAMES) == {
        "resize", "rotate", "autorotate", "crop", "composition", "blur", "dropshadow", "trim", "noop",
        "grayscale", "sepia", "modulate", "alpha", "primitive", "glitch", "addframes", "circlemask", "face",
        "multiply", "sharpen", "svg2bitmap", "svgdynamic", "text",
    }


@pytest.mark.parametrize("name", NAMES)
def test_describe_has_properties_enabled_and_required_list(name):
    described = registry.get(name).describe()
    enabled = described["properties"]["enabled"]
    assert enabled["type"] == "boolean" and enabled["default"] is True
    assert isinstance(described["required"], list)
    assert set(described["required"]) <= set(described["properties"])
    assert described["description"]


@pytest.mark.parametrize("name, required", [("rotate", ["angle"]), ("crop", ["width", "height"]),
                                            ("resize", []), ("blur", [])])
def test_required_options_are_declared(name, required):
    assert registry.get(name).describe()["required"] == required


@pytest.mark.parametrize("name", NAMES)
def test_unknown_option_is_rejected(name):
    with pytest.raises(InvalidOperation) as err:
        registry.get(name).validate({"no_such_option": 1})
    assert name in err.value.message and "no_such_option" in err.value.message


@pytest.mark.parametrize("name, option, value", OUT_OF_RANGE)
def test_out_of_range_value_is_rejected(name, option, value):
    with pytest.raises(InvalidOperation) as err:
        registry.get(name).validate({option: value})
    assert f"Operation {name}, option {option}" in err.value.message


@pytest.mark.parametrize("name, options, option", [
    ("rotate", {}, "angle"),
    ("crop", {"width": 10}, "height"),
    ("crop", {"height": 10}, "width"),
])
def test_missing_required_option_is_rejected(name, options, option):
    with pytest.raises(InvalidOperation) as err:
        registry.get(name).validate(options)
    assert name in err.value.message and option in err.value.message


@pytest.mark.parametrize("name, options, option", [
    ("rotate", {"angle": "ninety"}, "angle"),
    ("rotate", {"angle": 10, "background_color": "white"}, "background_color"),
    ("crop", {"width": 1, "height": 1, "anchor": "middle"}, "anchor"),
    ("crop", {"width": 1, "height": 1, "mode": "stretch"}, "mode"),
    ("crop", {"width": 1, "height": 1, "area": "not-a-name"}, "area"),
    ("alpha", {"mode": "invert"}, "mode"),
    ("autorotate", {"rotation_direction": "left"}, "rotation_direction"),
    ("multiply", {"factor_color": "#ffffff"}, "factor_color"),
    ("blur", {"enabled": "maybe"}, "enabled"),
])
def test_bad_type_enum_or_pattern_is_rejected(name, options, option):
    with pytest.raises(InvalidOperation) as err:
        registry.get(name).validate(options)
    assert f"Operation {name}, option {option}" in err.value.message


@pytest.mark.parametrize("name, options, expected", [
    ("rotate", {"angle": "90"}, {"angle": 90}),
    ("rotate", {"angle": "-12.5"}, {"angle": -12.5}),
    ("rotate", {"angle": "90", "enabled": "true"}, {"angle": 90, "enabled": True}),
    ("crop", {"width": "100", "height": "50", "anchor": "10_20"}, {"width": 100, "height": 50, "anchor": "10_20"}),
    ("resize", {"width": "200", "upscale": "false"}, {"width": 200, "upscale": False}),
    ("blur", {"sigma": "2.5", "enabled": "false"}, {"sigma": 2.5, "enabled": False}),
    ("multiply", {"factor_color": None}, {"factor_color": None}),
])
def test_url_strings_are_coerced(name, options, expected):
    assert registry.get(name).validate(options) == expected


@pytest.mark.parametrize("anchor", [
    "auto", "smart", "face", "subjectarea", "croparea", "center_center", "left_top", "right-bottom",
    "0_0", "10000_10000", "left_25", "300_bottom",
])
def test_crop_accepts_rokka_anchors(anchor):
    assert registry.get("crop").validate({"width": 1, "height": 1, "anchor": anchor})["anchor"] == anchor
