"""The bilan's charts, drawn on the server with matplotlib (the library of the pages' charts).

PNG at 200 dpi rather than SVG: ReportLab embeds a PNG as it is, where an SVG would need one
more dependency (svglib) to be turned into ReportLab drawings; 200 dpi prints sharp bars and
labels on A4 for a file of a few tens of kilobytes. The chart's figures are in the table printed
just above it, where they can be read and copied. Floats here are for drawing only.

matplotlib's object API (``Figure`` with the Agg canvas), never ``pyplot``: no global state, safe
in a web worker's threads. Deterministic: no date nor software name in the PNG's metadata, so
the same report gives the same PDF.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from decimal import Decimal

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

DPI = 200
TARGET, COUNTED = "#9db4d3", "#1f4e8c"
_LABEL_CHARACTERS = 34  # per line; two lines at most


def target_and_counted(
    labels: Sequence[str],
    targets: Sequence[Decimal],
    counted: Sequence[int],
    width_inches: float,
    height_inches: float,
) -> bytes:
    """Horizontal bars, one pair per share (target, then counted), the first at the top."""
    figure = Figure(figsize=(width_inches, height_inches), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = range(len(labels))
    axes.barh(
        [p - 0.2 for p in positions],
        [float(t) for t in targets],
        height=0.4,
        color=TARGET,
        label="Objectif (report compris)",
    )
    axes.barh(
        [p + 0.2 for p in positions],
        [float(c) for c in counted],
        height=0.4,
        color=COUNTED,
        label="Réalisé compté",
    )
    axes.set_yticks(list(positions), [_short(label) for label in labels], fontsize=7)
    axes.invert_yaxis()
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.xaxis.set_major_formatter(FuncFormatter(_french))
    axes.tick_params(axis="x", labelsize=7)
    axes.set_xlabel("logements", fontsize=7)
    axes.grid(axis="x", color="#dddddd", linewidth=0.5)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.legend(fontsize=7, loc="lower right", frameon=False)
    figure.tight_layout()
    # Laid out once: the Agg canvas prints the PNG in one drawing, where ``savefig`` would
    # first draw the figure once more without output for its layout engine (half the time).
    figure.set_layout_engine("none")
    buffer = io.BytesIO()
    figure.canvas.print_png(buffer, metadata={"Software": None})
    return buffer.getvalue()


def _short(label: str) -> str:
    """The label on two lines at most, cut with "…" beyond."""
    lines = textwrap.wrap(label, _LABEL_CHARACTERS)
    if len(lines) > 2:
        lines = [
            lines[0],
            textwrap.shorten(" ".join(lines[1:]), _LABEL_CHARACTERS, placeholder="…"),
        ]
    return "\n".join(lines)


def _french(value: float, _: object) -> str:
    """Whole numbers with a space between thousands ("1 200")."""
    return f"{value:,.0f}".replace(",", "\u202f")
