"""Build the whole data world (catalog, stock, Haravan and Stocky histories) from the knobs."""

from __future__ import annotations

from dataclasses import dataclass

from devtools.emulator import seeding, stocky_gen
from devtools.emulator.catalog import Catalog, build_catalog
from devtools.emulator.config import DataKnobs
from devtools.emulator.haravan_gen import generate_index
from devtools.emulator.haravan_store import HaravanStore
from devtools.emulator.stock import StockTable, build_stock
from devtools.emulator.stocky_store import StockyStore
from devtools.emulator.timefmt import TICKS_PER_DAY, now_ticks


@dataclass
class Dataset:
    knobs: DataKnobs
    end: int
    catalog: Catalog
    stock: StockTable
    haravan: HaravanStore
    stocky: StockyStore


def build_dataset(knobs: DataKnobs) -> Dataset:
    end = knobs.end if knobs.end is not None else now_ticks()
    start = end - knobs.days * TICKS_PER_DAY
    catalog = build_catalog(knobs.seed, knobs.locations, knobs.variants)
    index = generate_index(
        knobs.seed,
        knobs.days * knobs.haravan_per_day,
        start,
        end,
        len(catalog.locations),
        knobs.max_lines,
    )
    stocky = stocky_gen.generate(
        seeding.stream(knobs.seed, seeding.STOCKY),
        catalog,
        knobs.days * knobs.stocky_per_day,
        start,
        end,
        knobs.max_lines,
    )
    return Dataset(
        knobs=knobs,
        end=end,
        catalog=catalog,
        stock=build_stock(knobs.seed, catalog, end, knobs.days),
        haravan=HaravanStore(knobs.seed, catalog, index, end, knobs.max_lines),
        stocky=StockyStore(knobs.seed, catalog, stocky, knobs.max_lines),
    )
