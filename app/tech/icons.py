"""Draws the app icons of the technicians' PWA (``python -m app.tech.icons`` rewrites them).

Committed as PNGs under ``app/static/tech/icons/``; this is how they were made: a white spanner-
and-pulse mark on the app's deep blue, inside the safe zone of a maskable icon (the middle 80 %).
"""
from __future__ import annotations

from pathlib import Path

ICON_DIR = Path(__file__).resolve().parents[1] / "static" / "tech" / "icons"
BLUE, WHITE, AMBER = (11, 61, 145), (255, 255, 255), (253, 176, 34)


def draw_icon(size: int):
    """The icon as a ``size`` × ``size`` RGB Pillow image."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), BLUE)
    draw = ImageDraw.Draw(image)
    s = size / 100.0
    # a gear-like ring (the machine) ...
    draw.ellipse([28 * s, 28 * s, 72 * s, 72 * s], outline=WHITE, width=max(2, round(7 * s)))
    for i in range(8):
        import math

        a = i * math.pi / 4
        cx, cy = 50 * s + 25 * s * math.cos(a), 50 * s + 25 * s * math.sin(a)
        draw.ellipse([cx - 5 * s, cy - 5 * s, cx + 5 * s, cy + 5 * s], fill=WHITE)
    # ... with a vibration pulse across it (the diagnosis)
    pulse = [(18, 50), (38, 50), (44, 38), (50, 62), (56, 44), (62, 50), (82, 50)]
    draw.line([(x * s, y * s) for x, y in pulse], fill=AMBER, width=max(2, round(5 * s)), joint="curve")
    return image


def main() -> None:
    ICON_DIR.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw_icon(size).save(ICON_DIR / f"icon-{size}.png", optimize=True)
        print(ICON_DIR / f"icon-{size}.png")


if __name__ == "__main__":
    main()
