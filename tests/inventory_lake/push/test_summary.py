"""The approval screen: values from a file show as the text they are, never as Markdown.

Airflow renders the approval body with react-markdown and remark-gfm (CommonMark, tables,
autolinks); markdown-it-py is CommonMark too, with GFM tables and strikethrough switched on,
and raw HTML let through so that any tag a value smuggled in would show up in the output.
markdown-it-py has no GFM autolinks (that needs linkify-it-py): remark-gfm makes them only from
plain text, so the tests check that no value from the file ends up in plain text.
"""

from __future__ import annotations

import re
from typing import Any

from markdown_it import MarkdownIt

from include.inventory_lake.push.planning import GuardLimits, build_plan
from include.inventory_lake.push.summary import (
    approval_body,
    approval_subject,
    markdown_code,
    summarise,
)
from include.inventory_lake.push.validation import SetLine

MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
GUARD = GuardLimits(max_line_delta=5, max_relative_change=100.0, relative_min_delta=0, max_lines=9)

FILE_NAME = "[Approve](https://evil.example) ``tick`` `x` | *all* <b>in</b>.csv"
SKUS = [
    "[Approve](https://evil.example)",
    "![x](https://evil.example/pixel.png)",
    "a|b|c",
    "`code` and ``more``",
    "*em* **strong** _em_ ~~gone~~",
    "<b>bold</b><img src=x onerror=alert(1)>",
    "&amp; &#60;b&#62; \\[escaped\\] trailing\\",
    "# heading",
    "1. numbered",
    "www.evil.example user@evil.example https://evil.example",
]
REASON = "sku [Approve](javascript:alert(1)) | <script>alert(1)</script> *changed*"


def summary_for(file_name: str, skus: list[str], reason: str) -> dict[str, Any]:
    lines = [
        SetLine(
            row=row,
            location_id=1,
            product_id=row,
            product_variant_id=10 * row,
            quantity=100 + row,
            reason="shrinkage",
            note=None,
            sku=sku,
            barcode=None,
        )
        for row, sku in enumerate(skus, start=2)
    ]
    plan = build_plan(
        "b-md", lines, {line.pair: 0 for line in lines}, lines_per_request=50, limits=GUARD
    )
    summary = summarise(plan, file_name=file_name, plan_uri="s3://lake/ledger/b-md/plan.csv")
    summary["guard_reasons"] = [*summary["guard_reasons"], reason]
    return summary


def html_text(value: str) -> str:
    """How markdown-it writes text into HTML."""
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def tags(html: str) -> list[str]:
    return re.findall(r"</?[a-z][a-z0-9]*", html)


def table_rows(html: str) -> list[list[str]]:
    """Every table row of the rendered page, as the HTML inside each of its cells."""
    return [
        re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        for row in re.findall(r"<tr>(.*?)</tr>", html, re.S)
    ]


def plain_text(markdown: str) -> str:
    """All the plain text of the rendered page (not code): where GFM would look for autolinks."""
    return " ".join(
        child.content
        for token in MARKDOWN.parse(markdown)
        if token.type == "inline"
        for child in token.children or []
        if child.type == "text"
    )


def test_values_from_the_file_show_literally_in_the_approval_body() -> None:
    body = approval_body(summary_for(FILE_NAME, SKUS, REASON))
    evil = MARKDOWN.render(body)
    plain_skus = [f"sku{n}" for n in range(len(SKUS))]
    plain = MARKDOWN.render(approval_body(summary_for("plain.csv", plain_skus, "a reason")))

    # The same elements as for harmless values: no link, image, emphasis, HTML, extra cell.
    assert tags(evil) == tags(plain)
    assert "<a " not in evil and "<img" not in evil and "<script" not in evil
    assert f"<p><strong>File</strong> <code>{html_text(FILE_NAME)}</code> ·" in evil
    changes = [row for row in table_rows(evil) if len(row) == 7][1:]  # after the header
    assert [row[3] for row in changes] == [f"<code>{html_text(s)}</code>" for s in reversed(SKUS)]
    assert f"<li><code>{html_text(REASON)}</code></li>" in evil
    assert "evil" not in plain_text(body) and "alert" not in plain_text(body)


def test_a_pipe_in_a_table_cell_stays_in_its_cell() -> None:
    body = "| sku | n |\n|---|---|\n" + "".join(
        f"| {markdown_code(sku, in_table=True)} | 1 |\n" for sku in ["a|b", "|", "a\\|b", "\\\\|"]
    )
    # A backslash right before a pipe shows doubled: GFM has no way to show it as it is.
    assert table_rows(MARKDOWN.render(body))[1:] == [
        ["<code>a|b</code>", "1"],
        ["<code>|</code>", "1"],
        ["<code>a\\\\|b</code>", "1"],
        ["<code>\\\\\\\\|</code>", "1"],
    ]


def test_code_spans_keep_every_character_on_one_line() -> None:
    for value in [*SKUS, FILE_NAME, "` leading backtick", "trailing backtick `", "``", " x "]:
        assert MARKDOWN.renderInline(markdown_code(value)) == f"<code>{html_text(value)}</code>"
    assert markdown_code("two\r\nlines\nthree\rfour") == "` two lines three four `"
    assert markdown_code(None) == markdown_code("  ") == ""


def test_the_subject_is_plain_text_on_one_line() -> None:
    # Airflow shows the subject as text (not Markdown): it must not carry escapes.
    summary = summary_for("a [b] <c>\nd.csv", ["s"], "r")
    assert (
        approval_subject(summary)
        == "Overwrite Haravan stock from a [b] <c> d.csv: 1 lines, 1 requests"
    )
