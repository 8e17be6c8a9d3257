"""Deterministic, photo-like test images for the benchmark (no network, fixed seeds).

A "photo" is a smooth colour gradient, a few octaves of smooth noise (sky, light falloff),
soft-edged shapes, a patch of fine periodic texture (fabric, foliage) and a little sensor grain.
That gives JPEG files of realistic size and decode cost; pure noise would be far larger and
slower than a real photo, flat colour far smaller and faster.

Everything comes from numpy's PCG64 generator and Pillow's C routines, so the same seed gives
the same pixels on every run. Files are cached under the work directory by name + size + seed +
GENERATOR_VERSION (bump it when the generator changes).
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

GENERATOR_VERSION = 1


@dataclass(frozen=True)
class Fixture:
    name: str
    kind: str  # "jpeg" | "png_rgba" | "gif"
    width: int
    height: int
    seed: int
    frames: int = 1

    @property
    def ext(self) -> str:
        return {"jpeg": "jpg", "png_rgba": "png", "gif": "gif"}[self.kind]

    @property
    def filename(self) -> str:
        frames = f"x{self.frames}" if self.frames > 1 else ""
        return f"v{GENERATOR_VERSION}-{self.name}-{self.width}x{self.height}{frames}-s{self.seed}.{self.ext}"


def _upsampled(rng: np.random.Generator, cells: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """Smooth noise: a coarse grid of normal values, bicubically upsampled (3 channels, ~N(0,1))."""
    cw, ch = cells
    out = np.empty((size[1], size[0], 3), dtype=np.float32)
    for c in range(3):
        grid = rng.standard_normal((ch, cw), dtype=np.float32)
        out[..., c] = np.asarray(Image.fromarray(grid, "F").resize(size, Image.Resampling.BICUBIC))
    return out


def photo(width: int, height: int, seed: int) -> Image.Image:
    """An RGB image with photo-like statistics."""
    rng = np.random.default_rng(seed)
    # Low-frequency content at 1/8 scale, then one bicubic upscale (cheap for 24 MP).
    lw, lh = max(4, width // 8), max(4, height // 8)
    xx = np.linspace(0.0, 1.0, lw, dtype=np.float32)[None, :]
    yy = np.linspace(0.0, 1.0, lh, dtype=np.float32)[:, None]
    angle = rng.uniform(0, 2 * np.pi)
    t = xx * np.float32(np.cos(angle)) + yy * np.float32(np.sin(angle))
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    c0, c1 = rng.uniform(30, 225, 3).astype(np.float32), rng.uniform(30, 225, 3).astype(np.float32)
    low = c0 + (c1 - c0) * t[..., None]
    aspect = width / height
    for cells, amplitude in ((3, 40.0), (9, 18.0), (40, 8.0), (150, 6.0)):
        grid = (max(2, round(cells * aspect)) + 1, cells + 1)
        low += amplitude * _upsampled(rng, grid, (lw, lh))
    # Vignette: darker corners, as most lenses give.
    r2 = (xx - 0.5) ** 2 + (yy - 0.5) ** 2
    low *= (1.0 - 0.35 * r2)[..., None]
    image = Image.fromarray(np.clip(low, 0, 255).astype(np.uint8), "RGB").resize(
        (width, height), Image.Resampling.BICUBIC)

    # Shapes drawn at half size and upscaled: soft, slightly blurred edges like a real lens.
    hw, hh = max(2, width // 2), max(2, height // 2)
    overlay = Image.new("RGBA", (hw, hh), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    scale = min(hw, hh)
    for _ in range(28):
        kind = rng.integers(0, 3)
        cx, cy = rng.uniform(0, hw), rng.uniform(0, hh)
        r = rng.uniform(0.03, 0.22) * scale
        color = tuple(int(v) for v in rng.integers(0, 256, 3)) + (int(rng.integers(70, 200)),)
        if kind == 0:
            draw.ellipse([cx - r, cy - r * rng.uniform(0.5, 1.0), cx + r, cy + r * rng.uniform(0.5, 1.0)], fill=color)
        elif kind == 1:
            draw.rectangle([cx - r, cy - r * 0.6, cx + r * rng.uniform(0.5, 1.5), cy + r], fill=color)
        else:
            n = int(rng.integers(3, 7))
            angles = np.sort(rng.uniform(0, 2 * np.pi, n))
            draw.polygon([(float(cx + r * np.cos(a)), float(cy + r * np.sin(a))) for a in angles], fill=color)
    for _ in range(12):  # thin lines: branches, cables, edges
        x0, y0, x1, y1 = rng.uniform(0, hw), rng.uniform(0, hh), rng.uniform(0, hw), rng.uniform(0, hh)
        draw.line([x0, y0, x1, y1], fill=tuple(int(v) for v in rng.integers(0, 256, 3)) + (200,),
                  width=int(rng.integers(1, 4)))
    overlay = overlay.resize((width, height), Image.Resampling.BILINEAR)
    image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")

    # Fine detail everywhere (foliage, skin, fabric at a few pixels' scale): smooth luminance
    # noise from a grid of 1/5 size, plus a patch of periodic texture and sensor grain; added in
    # row bands to bound memory (24 MP is 72 MB per uint8 copy).
    grid = rng.standard_normal((max(2, height // 5), max(2, width // 5)), dtype=np.float32)
    detail = np.asarray(Image.fromarray(grid * 11.0, "F").resize((width, height), Image.Resampling.BICUBIC))
    pixels = np.array(image)
    tx0, ty0 = int(width * rng.uniform(0.05, 0.45)), int(height * rng.uniform(0.05, 0.45))
    tx1, ty1 = tx0 + int(width * 0.4), ty0 + int(height * 0.35)
    fx, fy = rng.uniform(0.6, 1.1), rng.uniform(0.2, 0.5)
    band = 256
    xs = np.arange(width, dtype=np.float32)
    for y0 in range(0, height, band):
        y1 = min(height, y0 + band)
        rows = pixels[y0:y1].astype(np.int16)
        grain = rng.normal(0.0, 2.2, (y1 - y0, width, 1)).astype(np.float32)
        grain = grain + rng.normal(0.0, 1.0, (y1 - y0, width, 3)).astype(np.float32)
        rows += np.rint(grain + detail[y0:y1, :, None]).astype(np.int16)
        lo, hi = max(y0, ty0), min(y1, ty1)
        if lo < hi:
            ys = np.arange(lo, hi, dtype=np.float32)[:, None]
            weave = 14.0 * np.sin(xs[None, tx0:tx1] * fx + ys * fy) * np.sin(ys * 0.9 - xs[None, tx0:tx1] * 0.15)
            rows[lo - y0:hi - y0, tx0:tx1] += np.rint(weave).astype(np.int16)[..., None]
        pixels[y0:y1] = np.clip(rows, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def rgba_photo(width: int, height: int, seed: int) -> Image.Image:
    """A photo cut out with a soft-edged elliptic mask, transparent outside (a product shot)."""
    rgb = photo(width, height, seed)
    mask = Image.new("L", (max(2, width // 4), max(2, height // 4)), 0)
    box = [mask.width * 0.08, mask.height * 0.12, mask.width * 0.92, mask.height * 0.9]
    ImageDraw.Draw(mask).ellipse(box, fill=255)
    mask = mask.resize((width, height), Image.Resampling.BICUBIC)
    rgb.putalpha(mask)
    return rgb


def animation(width: int, height: int, seed: int, frames: int) -> tuple[list[Image.Image], list[int]]:
    """A short clip: a photo background with a ball moving across and a slow colour shift."""
    rng = np.random.default_rng(seed)
    background = photo(width, height, seed)
    out = []
    ball = tuple(int(v) for v in rng.integers(0, 256, 3))
    radius = max(2, min(width, height) // 8)
    for i in range(frames):
        frame = background.copy()
        shift = int(40 * np.sin(2 * np.pi * i / max(frames, 1)))
        frame = frame.point([min(255, max(0, v + shift)) for v in range(256)] + list(range(256)) * 2)
        x = int((width + 2 * radius) * i / max(frames, 1)) - radius
        y = int(height / 2 + height / 4 * np.sin(2 * np.pi * i / max(frames, 1)))
        ImageDraw.Draw(frame).ellipse([x - radius, y - radius, x + radius, y + radius], fill=ball)
        out.append(frame.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.FLOYDSTEINBERG))
    return out, [80] * frames


def encode(fx: Fixture) -> bytes:
    buf = io.BytesIO()
    if fx.kind == "jpeg":
        exif = Image.Exif()
        exif[0x010F] = "rokka-bench"  # Make
        exif[0x0110] = "synthetic"    # Model
        exif[0x0112] = 1              # Orientation: upright
        # Camera-like: baseline, 4:2:0, quality 90.
        photo(fx.width, fx.height, fx.seed).save(buf, "JPEG", quality=90, subsampling="4:2:0", exif=exif)
    elif fx.kind == "png_rgba":
        rgba_photo(fx.width, fx.height, fx.seed).save(buf, "PNG", compress_level=6)
    elif fx.kind == "gif":
        frames, durations = animation(fx.width, fx.height, fx.seed, fx.frames)
        frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
    else:
        raise ValueError(fx.kind)
    return buf.getvalue()


def ensure(fx: Fixture, directory: str) -> str:
    """The path of the fixture's file, generating it once."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, fx.filename)
    if not os.path.exists(path):
        data = encode(fx)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    return path
