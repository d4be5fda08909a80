"""Run inside a network namespace of its own (see test_rebinding.py): forwards to names its hosts file maps.

good.example → 1.2.3.4 (an address on this namespace's lo that looks public), served over TLS;
rebind.example → 127.0.0.1 (a name that was public when the endpoint was saved, then re-pointed);
mixed.example → 127.0.0.1 and 1.2.3.4. Prints what each forward did, as JSON.
"""

from __future__ import annotations

import datetime
import json
import os
import ssl
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": "sqlite://:memory:"})

import django

django.setup()

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from proxy.routes import Route  # noqa: E402
from proxy.upstream import forward  # noqa: E402

received: list[str] = []


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        received.append(f"{self.server.server_address[0]}{self.path}")  # type: ignore[index]
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def certificate(directory: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "good.example")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("good.example"), x509.DNSName("mixed.example")]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    Path(cert_path).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    Path(key_path).write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def serve(host: str, port: int, tls: tuple[str, str] | None = None) -> None:
    server = ThreadingHTTPServer((host, port), Handler)
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()


def route(url: str, verify: bool | str = True) -> Route:
    return Route(
        bot_id=1,
        uuid="00000000-0000-4000-8000-000000000001",
        status="active",
        tenant_id=1,
        upstream_url=url,
        proxy_secret=b"x",
        endpoint_secret=None,
        verify=verify,
        telegram_id=None,
        username="",
        notices=False,
        failing=False,
        updated_at=datetime.datetime.now(datetime.UTC),
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        tls = certificate(directory)
        serve("1.2.3.4", 443, tls)
        serve("127.0.0.1", 443, tls)
        results = {}
        for name in ("good", "rebind", "mixed"):
            received.clear()
            outcome = forward(route(f"https://{name}.example/hook", verify=tls[0]), b"{}", "application/json")
            results[name] = {"status": outcome.status, "error": outcome.error, "reached": list(received)}
        print(json.dumps(results))


if __name__ == "__main__":
    main()
