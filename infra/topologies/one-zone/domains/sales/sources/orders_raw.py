"""Sample raw drop of orders: 40 records over four regions at scale 1."""

REGIONS = ("north", "south", "east", "west")


def generate(scale, rng):
    for index in range(1, int(40 * scale) + 1):
        yield {
            "id": f"O{index:05d}",
            "region": REGIONS[index % 4],
            "amount": f"{rng.uniform(1, 100):.2f}",
        }
