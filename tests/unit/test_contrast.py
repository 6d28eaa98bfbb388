"""The store's buttons are readable: white on the button colour meets WCAG AA (4.5:1), and a button is
a 44 px target (read from the style sheet itself)."""
from pathlib import Path
import re

STYLE = (Path(__file__).resolve().parents[2] / "album_store" / "static" / "style.css").read_text()


def variable(name):
    return re.search(rf"--{name}:\s*(#[0-9a-fA-F]{{6}})", STYLE)[1]


def luminance(colour):
    def channel(value):
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a, b):
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_white_on_a_button_meets_wcag_aa_and_so_does_its_hover():
    button = re.search(r"\.button, \.stripe-button-el \{([^}]*)\}", STYLE)[1]
    used = re.search(r"background: var\(--([a-z-]+)\)", button)[1]
    assert contrast(variable(used), "#ffffff") >= 4.5, used
    hover = re.search(r"\.button:hover, \.stripe-button-el:hover \{ background: var\(--([a-z-]+)\)", STYLE)[1]
    assert contrast(variable(hover), "#ffffff") >= 4.5, hover
    assert "min-height: 44px" in button


def test_the_contrast_sums_are_right():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#e4572e", "#ffffff"), 2) == 3.68
