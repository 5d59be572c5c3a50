"""Who may read which report, narrowed to what: the filters a caller's role and scope impose."""

from __future__ import annotations

from dataclasses import replace

from services.allocation.reports.figures import Filters
from shared.auth import Principal
from shared.problems import Problem, invalid_field

# Filters a report has no use for: a 422 naming them, rather than figures that silently ignore them.
NOT_FILTERS = {
    "unmet-need": ("donor", "programme"),  # need is the requests'; no donor's share of it
    "stock": ("priority",),  # stock has no priority until it is proposed
}
# Donors read their own figures in these; unmet need they read whole (aggregated, nothing personal).
DONOR_OWN = ("donor-fulfilment", "stock")
DONOR_WHOLE = ("unmet-need",)


def check_applicable(name: str, filters: Filters) -> None:
    """422 for a filter the report does not take."""
    given = {"donor": filters.donor_id, "programme": filters.programme_id, "priority": filters.priority}
    for field in NOT_FILTERS.get(name, ()):
        if given[field] is not None:
            raise invalid_field(f"query.{field}", f"not a filter of the {name} report")


def scoped(name: str, filters: Filters, principal: Principal) -> Filters:
    """The filters narrowed to the caller's scope: a region admin's region, a donor's own figures (403
    for another's, as the lists answer); donors may not read lead times."""
    check_applicable(name, filters)
    if principal.role == "region_admin":
        return replace(filters, region=principal.listing_region(filters.region))
    if principal.role == "donor":
        if name in DONOR_WHOLE:
            return filters
        if name in DONOR_OWN:
            return replace(filters, donor_id=principal.listing_donor(filters.donor_id, of="reports"))
        raise Problem(403, "Forbidden", f"donors may read {', '.join(DONOR_OWN + DONOR_WHOLE)}, not {name}")
    return filters
