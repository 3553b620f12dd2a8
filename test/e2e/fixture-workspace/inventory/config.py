import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    database_path: str
    low_stock_threshold: int
    currency: str


def load_settings() -> Settings:
    """Reads the settings from the environment, with defaults for development."""
    return Settings(
        database_path=os.environ.get("INVENTORY_DB", "inventory.sqlite3"),
        low_stock_threshold=int(os.environ.get("INVENTORY_LOW_STOCK", "5")),
        currency=os.environ.get("INVENTORY_CURRENCY", "EUR"),
    )
