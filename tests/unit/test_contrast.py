"""The store's buttons are readable: white on the button colour meets WCAG AA (4.5:1), and a button is
a 44 px target (read from the style sheet itself)."""

import re
from pathlib import Path

STYLE = (Path(__file__).resolve().parents[2] / "album_store" / "static" / "style.css").read_text()


def variable(name):
    return re.search(rf"--{name}:\s*(#[0-9a-fA-F]{{6}})", STYLE)[1]


def luminance(colour):
    def channel(value):
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
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


def test_the_stand_in_checkout_windows_pay_button_meets_wcag_aa():
    """The local Checkout window (what every test and `make run` pays with) is held to the same rule."""
    modal = (Path(__file__).resolve().parents[2] / "stripe_standin" / "static" / "modal.css").read_text()
    for rule in (r"\.pay \{[^}]*\}", r"\.pay:hover \{[^}]*\}", r"\.pay\.done \{[^}]*\}"):
        block = re.search(rule, modal)[0]
        colours = re.findall(r"#[0-9a-fA-F]{6}", block.split("background:")[1].split(";")[0])
        assert colours and all(contrast(colour, "#ffffff") >= 4.5 for colour in colours), (rule, colours)
