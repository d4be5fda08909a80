from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.tenancy import tenant_required


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "botpresto/welcome.html")
    return redirect("dashboard")


@tenant_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "botpresto/dashboard.html", {})
