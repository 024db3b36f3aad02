"""An engine on a real store in a temporary directory, for polls through poll_once."""

from __future__ import annotations

from pathlib import Path

from monitor.config import Brand
from monitor.engine.core import Engine
from monitor.loading import load_config
from monitor.sentiment import Scorer
from monitor.store import Store


def make_engine(tmp_path: Path, brand: str = "") -> Engine:
    """An engine with no rules on a store in tmp_path; `brand` is the [[brands]] table (default: Acme
    Cloud, its query "acme cloud"). Close its store when done (engine.store.close())."""
    (tmp_path / "rules").mkdir(exist_ok=True)
    table = brand or '[[brands]]\nid = "acme"\nname = "Acme Cloud"\nqueries = ["acme cloud"]\n'
    (tmp_path / "config.toml").write_text(f'[monitor]\ndatabase = "monitor.db"\nbackfill = "3d"\n\n{table}')
    config = load_config(tmp_path / "config.toml")
    return Engine(config, [], Store.open(config.database), Scorer.of(config))


def first_brand(engine: Engine) -> Brand:
    """The engine's first brand."""
    return engine.config.brands[0]
