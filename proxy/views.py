"""The proxy as a Django view: what the web role and the test client reach under /proxy/."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from proxy.forwarding import body_read, update_forward


@csrf_exempt
def proxy_entry(request: HttpRequest, path: str) -> HttpResponse:
    body: bytes | None = b""
    refusal: str | None = None
    if request.method == "POST":  # nothing else is forwarded, and a GET has no body to wait for
        body, refusal = body_read(request.META["wsgi.input"], request.META.get("CONTENT_LENGTH"))
    answer = update_forward(request.META, path, body, refusal)
    response = HttpResponse(answer.body, status=answer.status)
    del response["Content-Type"]
    for name, value in answer.headers:
        response[name] = value
    response._has_been_logged = True  # type: ignore[attr-defined]  # our own line says it; Django's would repeat it
    if answer.after is not None:
        response._resource_closers.append(answer.after)  # type: ignore[attr-defined]  # runs on close()
    return response
