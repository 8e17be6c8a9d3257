"""Vector sources: SVG (rasterised with resvg) and PDF (rasterised with pdfium).

Sizes
-----
* SVG: the size a browser gives the file as an <img>: absolute `width`/`height` on the root
  (px, in, cm, mm, pt, pc, em = 16 px, ex = 8 px; percentages count as missing); a missing side
  follows the viewBox aspect ratio; without width/height the viewBox size; without both,
  300x150 (the browser default). Rounded half up. Before rasterising, the root element gets
  these values as explicit `width`/`height` (and a viewBox when it had none), so resvg draws
  exactly the size recorded at upload (resvg alone would measure the content's bounding box
  for some of those cases, which cannot be known without rendering).
* PDF: a page at `pdf.dpi` (default 200), the dpi doubled once when the longer side would be
  under 1000 px (reference §5.2), i.e. what a render with default options produces. Uploads
  record page 1 at the default dpi. Sizes are `ceil(points / 72 * dpi)`, as pdfium renders.

Untrusted input
---------------
* XML is parsed with defusedxml: entity declarations and external references are refused.
* Uploads read only the root element (iterparse stops there) for SVG, and the page tree for
  PDF (pypdfium2 parses lazily, nothing is rendered).
* Before rasterising, every `href` that is not `#fragment` or a raster `data:` URI is removed:
  resvg would otherwise load absolute file paths from the Lambda's disk.

Heavy libraries (resvg_py, pypdfium2, defusedxml) are imported inside the functions.
"""
from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass

from chalicelib.errors import BadRequest
from chalicelib.limits import MAX_SVG_BYTES, MAX_SVG_ELEMENTS

SVG_NS = "http://www.w3.org/2000/svg"
DEFAULT_SVG_SIZE = (300.0, 150.0)
PDF_DEFAULT_DPI = 200
PDF_MIN_LONG_EDGE = 1000
SVG_DPI = 96  # CSS pixels per inch: what absolute units inside the SVG mean
# Rasterising costs about 80 µs per element in one uninterruptible call, so the render time
# limit cannot stop it: bound the document instead (bytes at upload, elements at render).

_LENGTH = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(px|in|cm|mm|pt|pc|em|ex|%)?")
_UNITS = {None: 1.0, "px": 1.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4, "pt": 4 / 3, "pc": 16.0,
          "em": 16.0, "ex": 8.0}
_SAFE_DATA = re.compile(r"^\s*data:image/(png|jpeg|jpg|gif|webp)[;,]", re.IGNORECASE)
_XML_NAME = re.compile(r"^[A-Za-z_][\w.\-]*(:[A-Za-z_][\w.\-]*)?$")


# --- sniffing ------------------------------------------------------------------------------

def sniff(data: bytes) -> str | None:
    """'svg', 'pdf' or None, from the first bytes only."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "svg" if re.search(rb"<(?:[A-Za-z_][\w.\-]*:)?svg[\s>/]", data[:262144]) else None
    if b"%PDF-" in data[:1024]:  # the header may follow some junk (as Acrobat allows)
        return "pdf"
    return None


# --- SVG -----------------------------------------------------------------------------------

@dataclass
class SvgGeometry:
    width: float            # CSS px, unrounded
    height: float
    viewbox: tuple | None   # (x, y, w, h) as declared, or None

    @property
    def size(self) -> tuple[int, int]:
        return _round(self.width), _round(self.height)


def _round(v: float) -> int:
    return max(1, math.floor(v + 0.5))


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _length(value: str | None) -> float | None:
    """An absolute length in px; None when missing, a percentage or unparsable."""
    if value is None:
        return None
    m = _LENGTH.fullmatch(value)
    if not m or m.group(2) == "%":
        return None
    number = float(m.group(1)) * _UNITS[m.group(2)]
    if not math.isfinite(number):
        raise BadRequest("The SVG has an invalid size.")
    if number <= 0:
        raise BadRequest("The SVG has a zero or negative size.")
    return number


def _viewbox(value: str | None) -> tuple | None:
    if not value:
        return None
    try:
        parts = [float(p) for p in re.split(r"[\s,]+", value.strip())]
    except ValueError:
        return None
    if len(parts) != 4 or not all(math.isfinite(p) for p in parts) or parts[2] <= 0 or parts[3] <= 0:
        return None
    return tuple(parts)


def geometry(attrs: dict) -> SvgGeometry:
    """The size of an SVG from its root attributes (keys are local names)."""
    w, h = _length(attrs.get("width")), _length(attrs.get("height"))
    vb = _viewbox(attrs.get("viewBox"))
    if w is None and h is None:
        w, h = (vb[2], vb[3]) if vb else DEFAULT_SVG_SIZE
    elif w is None:
        w = h * vb[2] / vb[3] if vb else DEFAULT_SVG_SIZE[0]
    elif h is None:
        h = w * vb[3] / vb[2] if vb else DEFAULT_SVG_SIZE[1]
    return SvgGeometry(w, h, vb)


def _parse_error(exc: Exception) -> BadRequest:
    from defusedxml import DefusedXmlException

    if isinstance(exc, DefusedXmlException):
        return BadRequest("SVG files with entity declarations or external references are not accepted.")
    return BadRequest("The SVG file is not well-formed XML.")


def svg_root_geometry(data: bytes) -> SvgGeometry:
    """Upload check: parse up to the root element only; raises BadRequest if it is not an SVG."""
    from xml.etree.ElementTree import ParseError

    if len(data) > MAX_SVG_BYTES:
        raise BadRequest(f"SVG files may be at most {MAX_SVG_BYTES} bytes.")

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    try:
        for _event, root in iterparse(io.BytesIO(data), events=("start",), forbid_dtd=False,
                                      forbid_entities=True, forbid_external=True):
            break
        else:
            raise BadRequest("The SVG file has no root element.")
    except (ParseError, DefusedXmlException, LookupError, ValueError) as exc:  # LookupError: encoding
        raise _parse_error(exc) from None
    if root.tag not in ("svg", f"{{{SVG_NS}}}svg"):
        raise BadRequest("The XML file is not an SVG image.")
    return geometry({_local(k): v for k, v in root.attrib.items()})


def parse_svg(data: bytes):
    """The whole document as a (defused) minidom Document, root checked."""
    from xml.parsers.expat import ExpatError

    from defusedxml import DefusedXmlException
    from defusedxml.expatbuilder import parseString  # what defusedxml.minidom uses, without SAX (~70 ms)

    try:
        doc = parseString(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except (ExpatError, DefusedXmlException, LookupError, ValueError) as exc:
        raise _parse_error(exc) from None
    root = doc.documentElement
    if root is None or root.localName != "svg" or root.namespaceURI not in (None, SVG_NS):
        raise BadRequest("The XML file is not an SVG image.")
    if len(doc.getElementsByTagName("*")) > MAX_SVG_ELEMENTS:
        raise BadRequest(f"The SVG has more than {MAX_SVG_ELEMENTS} elements.")
    return doc


def _root_attrs(root) -> dict:
    return {_local(k): v for k, v in root.attributes.items()}


def document_geometry(doc) -> SvgGeometry:
    return geometry(_root_attrs(doc.documentElement))


def serialize(doc) -> bytes:
    return doc.toxml(encoding="utf-8")


def check_attribute_change(attr, value) -> None:
    """svgdynamic may set presentation attributes, not scripts: no on* handlers, no javascript: URLs."""
    if not isinstance(attr, str) or not _XML_NAME.match(attr):
        raise BadRequest(f"svgdynamic: {attr!r} is not a valid attribute name")
    if _local(attr).lower().startswith("on"):
        raise BadRequest(f"svgdynamic: event handler attributes ({attr}) cannot be set")
    if re.sub(r"[\s\x00-\x1f]", "", str(value)).lower().startswith(("javascript:", "vbscript:")):
        raise BadRequest("svgdynamic: script URLs are not allowed as values")


def apply_changes(doc, changes: list) -> None:
    """Set attribute `attr` to `value` on every element whose id is `id` (unknown ids are ignored)."""
    by_id: dict[str, list] = {}
    for el in doc.getElementsByTagName("*"):
        if el.hasAttribute("id"):
            by_id.setdefault(el.getAttribute("id"), []).append(el)
    for change in changes:
        attr, value = change["attr"], change["value"]
        check_attribute_change(attr, value)
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, float) and value.is_integer():
            value = str(int(value))
        for el in by_id.get(str(change["id"]), []):
            if ":" in attr:
                prefix = attr.split(":", 1)[0]
                ns = {"xlink": "http://www.w3.org/1999/xlink",
                      "xml": "http://www.w3.org/XML/1998/namespace"}.get(prefix)
                if ns:
                    el.setAttributeNS(ns, attr, str(value))
                    continue
            el.setAttribute(attr, str(value))


def remove_external_references(doc) -> None:
    """Drop every href that could make the rasteriser read a file (or anything not inline)."""
    for el in doc.getElementsByTagName("*"):
        for name in [a for a in el.attributes.keys() if _local(a) == "href"]:
            value = el.getAttribute(name).strip()
            if not (value.startswith("#") or _SAFE_DATA.match(value)):
                el.removeAttribute(name)


def set_size(doc, size: tuple[int, int], stretch: bool = False) -> None:
    """Give the root explicit pixel width/height (and a viewBox, so the content scales with it)."""
    root = doc.documentElement
    geo = document_geometry(doc)
    if geo.viewbox is None:
        root.setAttribute("viewBox", f"0 0 {geo.width:g} {geo.height:g}")
    root.setAttribute("width", str(size[0]))
    root.setAttribute("height", str(size[1]))
    if stretch:
        root.setAttribute("preserveAspectRatio", "none")


def rasterize_svg(doc, size: tuple[int, int] | None = None):
    """Render a parsed SVG to an RGBA image of `size` (default: its own size)."""
    import resvg_py
    from PIL import Image

    remove_external_references(doc)
    target = size or document_geometry(doc).size
    set_size(doc, target)
    try:
        png = resvg_py.svg_to_bytes(svg_string=doc.documentElement.toxml(), dpi=SVG_DPI)
    except (ValueError, RuntimeError) as exc:
        raise BadRequest(f"The SVG could not be rendered: {exc}") from None
    except BaseException as exc:  # a Rust panic surfaces as pyo3's PanicException (a BaseException)
        if type(exc).__name__ != "PanicException":
            raise
        raise BadRequest("The SVG could not be rendered.") from None
    im = Image.open(io.BytesIO(png))
    im.load()
    im = im.convert("RGBA")
    if im.size != target:  # resvg rounds the same way; this is only a guard
        im = im.resize(target, Image.Resampling.LANCZOS)
    return im


def wrap_raster(im) -> bytes:
    """An SVG document that shows a raster (used when an SVG output needed pixel operations)."""
    import base64

    buf = io.BytesIO()
    im.save(buf, "PNG", compress_level=6)
    w, h = im.size
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">'
            f'<image width="{w}" height="{h}" href="data:image/png;base64,{data}"/></svg>').encode()


# --- PDF -----------------------------------------------------------------------------------

def effective_dpi(page_size_pt: tuple[float, float], dpi: float) -> float:
    """pdf.dpi, doubled once when the longer side would be under 1000 px."""
    if max(page_size_pt) / 72 * dpi < PDF_MIN_LONG_EDGE:
        return dpi * 2
    return dpi


def pdf_pixel_size(page_size_pt: tuple[float, float], dpi: float) -> tuple[int, int]:
    scale = effective_dpi(page_size_pt, dpi) / 72
    return max(1, math.ceil(page_size_pt[0] * scale)), max(1, math.ceil(page_size_pt[1] * scale))


def _open_pdf(data: bytes):
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise BadRequest(f"The PDF file cannot be read ({exc}).") from None
    if len(pdf) < 1:
        pdf.close()
        raise BadRequest("The PDF file has no pages.")
    return pdf


def pdf_page_size(data: bytes, page: int = 1) -> tuple[int, tuple[float, float]]:
    """(page count, size of `page` (1-based) in points); renders nothing."""
    import pypdfium2 as pdfium

    pdf = _open_pdf(data)
    try:
        count = len(pdf)
        if page > count:
            raise BadRequest(f"pdf.page {page} does not exist: the PDF has {count} page(s).")
        p = pdf[page - 1]
        try:
            size = p.get_size()
        finally:
            p.close()
    except pdfium.PdfiumError as exc:
        raise BadRequest(f"The PDF page cannot be read ({exc}).") from None
    finally:
        pdf.close()
    if not all(math.isfinite(v) and v > 0 for v in size):
        raise BadRequest("The PDF page has no size.")
    return count, size


def rasterize_pdf(data: bytes, page: int, scale: float):
    """Render page `page` (1-based) on white at `scale` pixels per point; returns RGB.

    The result is `ceil(points * scale)` pixels, as pdf_pixel_size computes for the nominal scale.
    """
    import pypdfium2 as pdfium

    pdf = _open_pdf(data)
    try:
        if page > len(pdf):
            raise BadRequest(f"pdf.page {page} does not exist: the PDF has {len(pdf)} page(s).")
        p = pdf[page - 1]
        try:
            bitmap = p.render(scale=scale, fill_color=(255, 255, 255, 255), rev_byteorder=True)
            im = bitmap.to_pil().convert("RGB")
            bitmap.close()
        finally:
            p.close()
    except pdfium.PdfiumError as exc:
        raise BadRequest(f"The PDF page cannot be rendered ({exc}).") from None
    finally:
        pdf.close()
    return im
