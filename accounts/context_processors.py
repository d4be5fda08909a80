from django.http import HttpRequest

from accounts.permissions import permissions_of
from accounts.selectors import tenants_for_user
from accounts.tenancy import current_role, current_tenant


def tenant(request: HttpRequest) -> dict[str, object]:
    chosen = current_tenant(request)
    role = current_role(request) if chosen else None
    return {
        "current_tenant": chosen,
        "current_role": role,
        "can": permissions_of(role),
        "user_tenants": list(tenants_for_user(user=request.user)) if chosen else [],
    }
