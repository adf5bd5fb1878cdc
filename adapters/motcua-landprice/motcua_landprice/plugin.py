"""The one hook implementation: registers the land price utility."""

from motcua.plugins import hookimpl


@hookimpl
def motcua_register_utilities(registry) -> None:
    from motcua_landprice.utility import LandPrices

    registry.register(LandPrices())
