from django.http import HttpRequest

from botpresto.bots.selectors import maintenance_window_for_banner


def maintenance(request: HttpRequest) -> dict[str, object]:
    """The maintenance window signed-in owners see in the banner of every page."""
    if not request.user.is_authenticated:
        return {}
    return {"maintenance_window": maintenance_window_for_banner()}
