"""The rendered page: every shop's datasets with row counts and gaps (and at a glance, which
shop's day is missing), the chart of a chosen shop, the push batches and a rejected file's
report; text from the lake and the configuration (shop ids too) is escaped, never run, and an
object that cannot be read is named on the page instead of taking it down."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from include.inventory_lake.lake.location import LakeRoot
from include.inventory_lake.push.layout import PushLake, PushLayout
from include.inventory_lake.push.validation import Problem
from include.inventory_lake.settings import (
    FACTS_LINES_PATH,
    HARAVAN_ADJUSTMENTS_PATH,
    STOCKY_ITEMS_PATH,
)
from include.inventory_lake.shops import DEFAULT_SHOP, DEFAULT_SHOP_ID, Shop
from include.inventory_lake.ui.lake_status import daily_specs
from include.inventory_lake.ui.page import day_ranges, error_page, gather, human_size, render
from include.inventory_lake.ui.shop_config import ShopConfig
from include.inventory_lake.ui.svg_chart import nice_ticks
from tests.inventory_lake.ui.lake_content import (
    dry_run,
    fact_line,
    push_batch,
    reject_file,
    set_line,
    write_facts,
    write_partition,
)

D1, D2, D3 = date(2026, 1, 8), date(2026, 1, 9), date(2026, 1, 10)
SCRIPT = "<script>alert('x')</script>"
TAG = "<img src=x onerror=alert(1)>"  # a file name has no "/"
SAIGON = Shop("saigon", "haravan_saigon", "stocky_saigon")
TWO_SHOPS = ShopConfig([DEFAULT_SHOP, SAIGON])


def row_of(html: str, attributes: str) -> str:
    row = re.search(rf"<tr {re.escape(attributes)}>(.*?)</tr>", html, re.S)
    assert row, attributes
    return row.group(1)


def day_cell(row: str, day: date) -> str:
    found = re.search(rf'<td [^>]*data-day="{day}"[^>]*>(.*?)</td>', row, re.S)
    assert found, day
    return found.group(0)


def cell(html: str, dataset: str, day: date, shop: str = DEFAULT_SHOP_ID) -> str:
    return day_cell(row_of(html, f'data-shop="{shop}" data-dataset="{dataset}"'), day)


def glance(html: str, shop: str, day: date) -> str:
    return day_cell(row_of(html, f'data-shop="{shop}"'), day)


def seeded_page(s3: Any, root: LakeRoot) -> str:
    for day, rows in ((D1, 1234), (D3, 56)):
        write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, day, rows, f"scheduled__{day}")
    write_partition(s3, root, STOCKY_ITEMS_PATH, D2, 0, "manual__empty")
    write_facts(s3, root, D1, [fact_line("haravan", 963414, -4, 1), fact_line("stocky", 11, 9, 2)])
    write_facts(s3, root, D3, [fact_line("haravan", 963414, 2, 3)])
    push_batch(
        s3,
        root,
        "b1",
        [set_line(2, 963414, 11, 5, SCRIPT), set_line(3, 963414, 12, 1, "ok")],
        {(963414, 11): 1, (963414, 12): 1},
        lines_per_request=1,
        refused={2: "422: " + SCRIPT},
        status="failed",
    )
    s3.put_object(
        Bucket=root.bucket, Key=PushLayout(root).approved_prefix + "next week.csv", Body=b"x"
    )
    dry_run(
        s3,
        root,
        "d1",
        f"trial{TAG}.csv",
        [set_line(2, 963414, 11, 7, SCRIPT)],
        {(963414, 11): 1},
        pushed_before_as="b0",
    )
    reject_file(
        s3,
        root,
        f"bad{TAG}.csv",
        b"location_id\r\n",
        [Problem(2, "quantity", SCRIPT, "quantity must be a whole number >= 0")],
    )
    # A folder of a shop nobody configured, named so that only escaping keeps it text.
    write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, D1, 2, "manual__odd", f"odd{TAG}")
    return render(gather(PushLake(s3, root), end=D3, days=3, shop_config=TWO_SHOPS))


def test_the_page_shows_partitions_gaps_chart_and_pushes(s3: Any, root: LakeRoot) -> None:
    html = seeded_page(s3, root)

    assert 'data-state="complete" data-rows="1234"' in cell(html, HARAVAN_ADJUSTMENTS_PATH, D1)
    assert ">1,234<" in cell(html, HARAVAN_ADJUSTMENTS_PATH, D1)
    gap = cell(html, HARAVAN_ADJUSTMENTS_PATH, D2)
    assert 'class="missing"' in gap and ">gap<" in gap
    assert 'class="empty"' in cell(html, STOCKY_ITEMS_PATH, D2)
    assert "run scheduled__2026-01-10" in cell(html, HARAVAN_ADJUSTMENTS_PATH, D3)
    assert "1 gap: 2026-01-09" in html
    assert 'data-state="missing"' in cell(html, FACTS_LINES_PATH, D2)

    assert html.count('<svg class="chart"') == 2
    assert "haravan · location 963414" in html and "stocky · location 11" in html
    assert "No complete facts partition on 2026-01-09" in html

    assert "next week.csv" in html
    assert 'data-batch="b1"' in html and "IA900001" in html
    assert "request 2/2 refused: 422: " in html
    assert "quantity must be a whole number &gt;= 0" in html
    dry = re.search(r'<article class="dry-run" data-dry-run="d1">(.*?)</article>', html, re.S)
    assert dry, "the dry run has its own article"
    assert "1 lines in 1 request over 1 location; 1 change stock (+6" in dry.group(1)
    assert "as batch <code>b0</code>: a real run would reject the file" in dry.group(1)
    assert "1 → 7" in dry.group(1) and "+6" in dry.group(1)


def test_text_from_the_lake_is_escaped(s3: Any, root: LakeRoot) -> None:
    html = seeded_page(s3, root)
    assert "<script>" not in html and "<img" not in html
    assert "bad&lt;img src=x onerror=alert(1)&gt;.csv" in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    odd = "odd&lt;img src=x onerror=alert(1)&gt;"
    assert f'<tr data-shop="{odd}">' in html and f"<code>{odd}</code>" in html
    assert "shop=odd%3Cimg+src%3Dx+onerror%3Dalert%281%29%3E#chart" in html


def test_a_shops_configuration_that_cannot_be_used_is_named_and_escaped(
    s3: Any, root: LakeRoot
) -> None:
    write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, D3, 5, "r", "saigon")
    problem = f"Variable 'inventory_lake_shops', entry 1: shop id {SCRIPT!r} must be 1-40 ..."

    html = render(gather(PushLake(s3, root), end=D3, days=1, shop_config=ShopConfig(None, problem)))

    assert "<script>" not in html
    assert "shop id &#34;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&#34; must be" in html
    assert "Shown: every shop found in the lake." in html
    assert 'class="badge unknown">configuration unknown' in html
    assert 'data-state="complete" data-rows="5"' in cell(
        html, HARAVAN_ADJUSTMENTS_PATH, D3, "saigon"
    )
    assert 'data-state="missing"' in cell(html, FACTS_LINES_PATH, D3, "saigon")


def test_at_a_glance_a_day_missing_for_one_shop_is_a_gap_of_that_shop_only(
    s3: Any, root: LakeRoot
) -> None:
    for shop in (DEFAULT_SHOP_ID, "saigon"):
        for spec in daily_specs():
            for day in (D1, D2, D3):
                if (shop, spec.path, day) == ("saigon", STOCKY_ITEMS_PATH, D2):
                    continue
                if spec.path == FACTS_LINES_PATH:
                    write_facts(s3, root, day, [fact_line("haravan", 1, 1, 1)], shop=shop)
                else:
                    write_partition(s3, root, spec.path, day, 3, f"run-{shop}", shop)
    write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, D1, 1, "run-hue", "hue")

    html = render(gather(PushLake(s3, root), end=D3, days=3, shop_config=TWO_SHOPS))

    for day in (D1, D2, D3):
        assert ">ok<" in glance(html, DEFAULT_SHOP_ID, day)
        assert 'data-state="complete"' in cell(html, STOCKY_ITEMS_PATH, day)
    missing = glance(html, "saigon", D2)
    assert 'class="missing"' in missing and ">gap<" in missing
    assert "gap in Stocky adjustment items (raw)" in missing
    assert ">ok<" in glance(html, "saigon", D1) and ">ok<" in glance(html, "saigon", D3)
    assert 'data-state="missing"' in cell(html, STOCKY_ITEMS_PATH, D2, "saigon")
    assert 'data-state="complete"' in cell(html, HARAVAN_ADJUSTMENTS_PATH, D2, "saigon")
    # A shop only the lake has is shown, labelled, and its quiet days are not gaps.
    assert 'class="badge not-configured">not configured' in row_of(html, 'data-shop="hue"')
    assert 'data-state="not_expected"' in glance(html, "hue", D2)
    order = [
        html.index(f'<section class="shop" id="shop-{shop}"')
        for shop in ("default", "saigon", "hue")
    ]
    assert order == sorted(order), "configured shops first, in their order, then the others"


def test_the_chart_shows_the_chosen_shop(s3: Any, root: LakeRoot) -> None:
    write_facts(s3, root, D3, [fact_line("haravan", 111, 1, 1)])
    write_facts(s3, root, D3, [fact_line("haravan", 222, 1, 1)], shop="saigon")

    first = render(gather(PushLake(s3, root), end=D3, days=1, shop_config=TWO_SHOPS))
    chosen = render(
        gather(PushLake(s3, root), end=D3, days=1, shop_config=TWO_SHOPS, shop="saigon")
    )
    unknown = render(
        gather(PushLake(s3, root), end=D3, days=1, shop_config=TWO_SHOPS, shop="nowhere")
    )

    assert "haravan · location 111" in first and "location 222" not in first
    assert "haravan · location 222" in chosen and "location 111" not in chosen
    assert (
        'href="?end=2026-01-10&amp;days=1&amp;shop=saigon#chart" data-shop="saigon" class="current"'
        in chosen
    )
    assert '<input type="hidden" name="shop" value="saigon">' in chosen
    assert "No shop <code>nowhere</code> is configured or in the lake" in unknown
    assert "haravan · location 111" in unknown


def article(html: str, key: str) -> str:
    found = re.search(
        rf'<article class="rejected" data-key="{re.escape(key)}">(.*?)</article>', html, re.S
    )
    assert found, key
    return found.group(1)


def test_unreadable_objects_are_named_and_the_rest_of_the_page_is_shown(
    s3: Any, root: LakeRoot
) -> None:
    layout = PushLayout(root)
    not_utf_8 = [Problem(None, None, None, "the file is not UTF-8 text")]
    upload, _ = reject_file(s3, root, "x.report.csv", "1;café\r\n".encode("latin-1"), not_utf_8)
    broken = layout.rejected_key("broken.csv", "ab" * 32)
    s3.put_object(Bucket=root.bucket, Key=broken, Body=b"x")
    s3.put_object(Bucket=root.bucket, Key=layout.report_key("broken.csv", "ab" * 32), Body=b"\xff")
    push_batch(s3, root, "b-odd", [set_line(2, 1, 11, 5, "S")], {(1, 11): 4})
    doc = json.loads(
        s3.get_object(Bucket=root.bucket, Key=layout.batch_key("b-odd"))["Body"].read()
    )
    doc["created_at"] = "last tuesday"  # edited by hand: shown as it is
    s3.put_object(Bucket=root.bucket, Key=layout.batch_key("b-odd"), Body=json.dumps(doc).encode())
    push_batch(s3, root, "b-garbled", [set_line(2, 1, 11, 5, "S")], {(1, 11): 4})
    s3.put_object(Bucket=root.bucket, Key=layout.batch_key("b-garbled"), Body=b"{")

    html = render(gather(PushLake(s3, root), end=D3, days=3, shop_config=TWO_SHOPS))

    shown = article(html, upload)
    assert "<h4>x.report.csv " in shown and "<td>the file is not UTF-8 text</td>" in shown
    assert (
        "<td>the report could not be read: not UTF-8 text (byte 0xff at offset 0)</td>"
        in article(html, broken)
    )
    assert 'data-batch="b-odd"' in html and "<dd>last tuesday / " in html
    assert "Batches in the ledger: <strong>2</strong>" in html


def test_an_old_lake_links_to_its_newest_partition(s3: Any, root: LakeRoot) -> None:
    write_partition(s3, root, HARAVAN_ADJUSTMENTS_PATH, D1, 5, "r")
    html = render(
        gather(PushLake(s3, root), end=None, days=7, today=date(2026, 3, 1), shop_config=TWO_SHOPS)
    )
    assert "7 days, 2026-02-22 to 2026-02-28" in html
    assert "7 gaps: 2026-02-22 to 2026-02-28" in html
    assert 'data-shop="saigon"' in html, "a configured shop without data has its own section"
    assert 'newest daily partition 2026-01-08 (<a href="?end=2026-01-08&amp;days=7">' in html


def test_helpers_format_sizes_and_chart_ticks() -> None:
    days = [D1, D2, D3, date(2026, 1, 14), date(2026, 1, 16), date(2026, 1, 17)]
    assert day_ranges(days) == ("2026-01-08 to 2026-01-10, 2026-01-14, 2026-01-16 to 2026-01-17")
    assert [human_size(n) for n in (None, 512, 2048, 5 * 1024**3)] == [
        "\N{EN DASH}", "512 B", "2.0 KB", "5.0 GB"
    ]  # fmt: skip
    assert nice_ticks(0, 1234) == [0, 500, 1000, 1500]
    assert nice_ticks(-40, 90) == [-50, 0, 50, 100]
    assert nice_ticks(0, 0) == [0.0, 0.5, 1.0]


def test_the_error_page_names_the_error_type_only() -> None:
    page = error_page("EndpointConnectionError")
    assert "EndpointConnectionError" in page and "aws_default" in page
