from __future__ import annotations

import datetime
import ssl
import tempfile

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.test import Client

from analytics import buffer
from botpresto.bots.models import Bot
from tests.factories import bot_make
from tests.proxy.conftest import post
from tests.proxy.endpoints import Endpoint, Reply, closed_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def bot(owner, endpoint: Endpoint) -> Bot:  # type: ignore[no-untyped-def]
    return bot_make(owner.tenant, upstream_url=endpoint.url, notices_enabled=False)


def _error() -> str | None:
    [record] = buffer.records_pop(10)
    return record["outcome"]["error"]


def test_it_a_refused_connection_answers_502_with_retry_after(owner, client: Client) -> None:  # type: ignore[no-untyped-def]
    bot = bot_make(owner.tenant, upstream_url=f"http://127.0.0.1:{closed_port()}/hook")
    response = post(client, bot)
    assert (response.status_code, response["Retry-After"]) == (502, "7")
    assert _error() == "connect"


def test_it_an_unknown_host_answers_502(owner, client: Client) -> None:  # type: ignore[no-untyped-def]
    bot = bot_make(owner.tenant, upstream_url="http://no-such-host.invalid/hook")
    assert post(client, bot).status_code == 502
    assert _error() == "dns"


def test_it_a_timeout_answers_504_with_retry_after(client: Client, bot: Bot, endpoint: Endpoint, settings) -> None:  # type: ignore[no-untyped-def]
    settings.PROXY_READ_TIMEOUT = 0.2
    endpoint.reply = Reply(200, b"{}", delay=2)
    response = post(client, bot)
    assert (response.status_code, response["Retry-After"]) == (504, "7")
    assert _error() == "timeout"


@pytest.mark.parametrize("status", [500, 503, 400, 403, 404])
def test_it_an_error_status_answers_502_so_telegram_retries(
    client: Client, bot: Bot, endpoint: Endpoint, status: int
) -> None:
    endpoint.reply = Reply(status, b"oops", {"Content-Type": "text/plain"})
    response = post(client, bot)
    assert (response.status_code, response["Retry-After"]) == (502, "7")
    [record] = buffer.records_pop(10)
    assert (record["outcome"]["error"], record["outcome"]["upstream_status"]) == ("http_status", status)


def test_it_a_410_never_reaches_telegram(client: Client, bot: Bot, endpoint: Endpoint) -> None:
    endpoint.reply = Reply(410, b"gone")
    assert post(client, bot).status_code == 502
    assert _error() == "gone"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_it_a_redirect_is_not_followed_and_counts_as_a_failure(
    client: Client, bot: Bot, endpoint: Endpoint, status: int
) -> None:
    endpoint.reply = Reply(status, headers={"Location": endpoint.url + "/elsewhere"})
    response = post(client, bot)
    assert response.status_code == 502
    assert "Location" not in response
    assert len(endpoint.received) == 1
    assert _error() == "redirect"


def test_it_the_endpoints_own_429_is_relayed_as_it_is(client: Client, bot: Bot, endpoint: Endpoint) -> None:
    endpoint.reply = Reply(429, b'{"ok":false}', {"Retry-After": "30", "Content-Type": "application/json"})
    response = post(client, bot)
    assert (response.status_code, response["Retry-After"], response.content) == (429, "30", b'{"ok":false}')


def test_it_a_429_without_retry_after_gets_ours(client: Client, bot: Bot, endpoint: Endpoint) -> None:
    endpoint.reply = Reply(429)
    response = post(client, bot)
    assert (response.status_code, response["Retry-After"]) == (502, "7")


def test_it_a_failure_is_logged_with_kind_status_and_latency(
    client: Client, bot: Bot, endpoint: Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint.reply = Reply(500, b"secret stack trace")
    post(client, bot)
    line = next(r.getMessage() for r in caplog.records if "proxy_forward_failed" in r.getMessage())
    assert f"bot={bot.uuid} error=http_status status=502 upstream_status=500 latency_ms=" in line
    assert "secret stack trace" not in caplog.text


def test_it_forwards_past_the_per_bot_cap_get_503_at_once(
    client: Client, bot: Bot, endpoint: Endpoint, settings
) -> None:  # type: ignore[no-untyped-def]
    from proxy.guards import in_flight

    settings.PROXY_MAX_IN_FLIGHT_PER_BOT = 2
    for _ in range(2):  # two forwards hanging on the endpoint
        assert in_flight.enter(bot.id)
    response = post(client, bot)
    assert (response.status_code, response["Retry-After"]) == (503, "7")
    assert endpoint.received == []
    assert _error() == "overload"


def test_it_the_cap_is_per_bot(owner, client: Client, bot: Bot, endpoint: Endpoint, settings) -> None:  # type: ignore[no-untyped-def]
    from proxy.guards import in_flight

    settings.PROXY_MAX_IN_FLIGHT_PER_BOT = 1
    other = bot_make(owner.tenant, upstream_url=endpoint.url)
    in_flight.enter(other.id)
    assert post(client, bot).status_code == 200


# --- TLS ------------------------------------------------------------------------------
def _self_signed() -> tuple[str, ssl.SSLContext]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as file:
        file.write(pem + key_pem)
        file.flush()
        context.load_cert_chain(file.name)
    return pem, context


@pytest.fixture
def tls_endpoint() -> Endpoint:  # type: ignore[misc]
    pem, context = _self_signed()
    server = Endpoint(tls=context, host="localhost")
    server.pem = pem  # type: ignore[attr-defined]
    yield server
    server.stop()


def test_it_an_unverifiable_certificate_is_a_tls_failure(owner, client: Client, tls_endpoint: Endpoint) -> None:  # type: ignore[no-untyped-def]
    bot = bot_make(owner.tenant, upstream_url=tls_endpoint.url)
    assert post(client, bot).status_code == 502
    assert _error() == "tls"
    assert tls_endpoint.received == []


def test_it_the_owners_uploaded_certificate_is_trusted(owner, client: Client, tls_endpoint: Endpoint) -> None:  # type: ignore[no-untyped-def]
    bot = bot_make(owner.tenant, upstream_url=tls_endpoint.url, certificate=tls_endpoint.pem)  # type: ignore[attr-defined]
    assert post(client, bot).status_code == 200
    assert len(tls_endpoint.received) == 1


def test_it_an_uploaded_certificate_trusts_only_that_endpoint(owner, client: Client, tls_endpoint: Endpoint) -> None:  # type: ignore[no-untyped-def]
    other_pem, _ = _self_signed()
    bot = bot_make(owner.tenant, upstream_url=tls_endpoint.url, certificate=other_pem)
    assert post(client, bot).status_code == 502
    assert _error() == "tls"
