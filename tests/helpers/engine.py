"""An engine on a real store in a temporary directory: for polls through poll_once, with rules written
for the test, or with the shipped ones."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from monitor.config import Brand, Config
from monitor.engine.core import Engine
from monitor.loading import load_config
from monitor.rules.load import load_rules
from monitor.sentiment import Scorer
from monitor.store import Store

ROOT = Path(__file__).resolve().parent.parent.parent


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


def rules_engine(
    tmp_path: Path, rules: dict[str, str], brands: tuple[Brand, ...] = (), platforms: tuple[str, ...] = ("hackernews",)
) -> Engine:
    """An engine with these rule files (name -> TOML) on a store at tmp_path/m.db, for brands (default:
    Acme, its query "acme") polled on platforms. Close its store when done (engine.store.close())."""
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    for name, text in rules.items():
        folder.joinpath(name).write_text(text)
    brands = brands or (Brand("acme", "Acme", ("acme",)),)
    config = Config(path=tmp_path / "config.toml", database=tmp_path / "m.db", rules_dir=folder, brands=brands,
                    sources=MappingProxyType({}))  # fmt: skip
    loaded = load_rules(folder, [b.id for b in brands], list(platforms))
    return Engine(config, loaded, Store.open(config.database), Scorer.of(config))


def shipped_engine(
    tmp_path: Path, brands: tuple[Brand, ...], platforms: list[str], store: Store | None = None
) -> Engine:
    """An engine with the shipped rules (rules/) for brands polled on platforms, on store (default: a
    store at tmp_path/m.db). Close its store when done."""
    config = Config(path=tmp_path / "config.toml", database=tmp_path / "m.db", rules_dir=ROOT / "rules",
                    brands=brands, sources=MappingProxyType({}))  # fmt: skip
    rules = load_rules(ROOT / "rules", [b.id for b in brands], platforms)
    return Engine(config, rules, store or Store.open(config.database), Scorer.of(config))


class NeverDormant(dict[tuple[str, str], tuple[float, float, float]]):
    """A dormant table (Engine.dormant) that keeps nothing: every pair is looked at every tick, as before
    pairs could sleep; a replay with it is the reference a sleeping one must match."""

    def __setitem__(self, key: tuple[str, str], value: tuple[float, float, float]) -> None:
        pass
