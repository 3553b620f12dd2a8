from .config import load_settings
from .store import Store


def stock_report(store: Store) -> str:
    settings = load_settings()
    lines = [f"{'sku':<10} {'name':<24} {'qty':>5} {'value':>10}"]
    for item in sorted(store.items.values(), key=lambda item: item.sku):
        value = item.quantity * item.unit_price
        lines.append(f"{item.sku:<10} {item.name:<24} {item.quantity:>5} {value:>9.2f} {settings.currency}")
    low = store.low_stock(settings.low_stock_threshold)
    if low:
        lines.append("")
        lines.append("Low stock: " + ", ".join(item.sku for item in low))
    return "\n".join(lines)
