from django.http import HttpRequest

from accounts.selectors import tenants_for_user
from accounts.tenancy import current_tenant


def tenant(request: HttpRequest) -> dict[str, object]:
    chosen = current_tenant(request)
    return {
        "current_tenant": chosen,
        "user_tenants": list(tenants_for_user(user=request.user)) if chosen else [],
    }
