"""Meta's Graph API versions and how long each is available, from Meta's changelog
(developers.facebook.com/docs/graph-api/changelog/versions, as of 2026-12): the table the
system check reads (chats/checks.py). Add a row when Meta releases a version."""
from datetime import date

# version: (released, available until; None while Meta has not said)
GRAPH_API_VERSIONS: dict[str, tuple[date, date | None]] = {
    "v26.0": (date(2026, 7, 29), None),
    "v25.0": (date(2026, 2, 18), date(2028, 7, 29)),
    "v24.0": (date(2025, 10, 8), date(2028, 2, 18)),
    "v23.0": (date(2025, 5, 29), date(2027, 10, 8)),
    "v22.0": (date(2025, 1, 21), date(2027, 5, 20)),
    "v21.0": (date(2024, 10, 2), date(2027, 1, 21)),
    "v20.0": (date(2024, 5, 21), date(2026, 9, 24)),
    "v19.0": (date(2024, 1, 23), date(2026, 5, 21)),
}
NEWEST = max(GRAPH_API_VERSIONS, key=lambda v: GRAPH_API_VERSIONS[v][0])
WARN_DAYS_BEFORE_END = 60


def available_until(version: str) -> date | None:
    """The last day Meta serves `version`; None when unknown or not announced."""
    return GRAPH_API_VERSIONS.get(version, (None, None))[1]
