from inmail.services.catalog import list_plans
from inmail.services.context import Deps


def test_the_default_catalog_is_loaded(deps: Deps) -> None:
    codes = {p.code for p in list_plans(deps)}
    assert "premium_business" in codes
