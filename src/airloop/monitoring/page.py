"""The pieces of airloop's self-contained HTML pages (the project report, the backtest): inline CSS,
plots as base64 PNG, every text from data escaped. No external URL, no JavaScript."""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1200px;
padding:0 1em;color:#1d232a}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #dde3ea;padding-bottom:.2em;margin-top:2em}
.meta,.note{color:#5b6673}.note{background:#f4f6f8;border-left:4px solid #aab4bf;padding:.5em .8em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:13px}
th,td{border:1px solid #dde3ea;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f4f6f8}.num{font-variant-numeric:tabular-nums}
.badge{display:inline-block;border-radius:3px;padding:0 .4em;margin-right:.2em;background:#e6eaef;font-size:12px}
.champion{background:#ffd54f}.passed{color:#1b7f3b}.refused,.bad{color:#b3261e;font-weight:600}
img{max-width:100%;display:block;margin:.5em 0}code{font-size:12px}nav a{margin-right:1em}
"""


class Html(str):
    """Markup built here, already safe: table cells that are not Html get escaped."""


def escape(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def page(title: str, meta: Html, sections: list[tuple[str, str, str]]) -> str:
    """A whole page: a title, a line of meta (markup), and (anchor, heading, markup) sections."""
    nav = "".join(f'<a href="#{key}">{escape(heading)}</a>' for key, heading, _ in sections)
    body = "".join(
        f'<section id="{key}"><h2>{escape(heading)}</h2>{content}</section>' for key, heading, content in sections
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="meta">{meta}</p><nav>{nav}</nav>{body}</body></html>\n'
    )


def note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'


def table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{c if isinstance(c, Html) else escape(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure(height: float = 3.2) -> Figure:
    # Figure + the Agg canvas directly, never pyplot: no global backend switch, no GUI, thread-safe
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def time_axis(ax: Any) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("time (UTC)")


def img(fig: Figure, alt: str) -> str:
    buf = io.BytesIO()
    # no Software/URL metadata: the page holds nothing but its own bytes
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'
