"""Real protocol servers on free loopback ports, started by the tests: an SMTP server that
requires STARTTLS and AUTH (aiosmtpd, a self-signed certificate made here), and an HTTP server
standing in for the WeCom and DingTalk robot webhooks."""

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from crm.crypto import encrypt
from crm.extensions import db
from crm.notifications.models import NoticeRobot
from tests.records.support import act  # noqa: F401  (services run as a user)

SMTP_USER, SMTP_PASSWORD = "crm-notices", "s3cret-pass"
BASE_URL = "https://crm.example.test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(folder):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class MailSink:
    def __init__(self):
        self.messages = []  # (mail_from, rcpt_tos, raw bytes, authenticated as, over TLS)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.content,
                session.auth_data,
                session.ssl is not None,
            )
        )
        return "250 OK"


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == SMTP_USER.encode()
        and auth_data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False, auth_data=auth_data.login.decode() if ok else None)


@pytest.fixture
def smtp_server(app, tmp_path, monkeypatch):
    """An SMTP server refusing mail before STARTTLS and AUTH; the app configured for it."""
    cert_file, key_file = self_signed(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_file, key_file)
    sink = MailSink()
    port = free_port()
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=port,
        tls_context=tls,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=_authenticate,
    )
    controller.start()
    for key, value in {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": port,
        "SMTP_SECURITY": "starttls",
        "SMTP_USER": SMTP_USER,
        "SMTP_PASSWORD": SMTP_PASSWORD,
        "SMTP_CA_FILE": str(cert_file),
        "SMTP_TIMEOUT": 5,
        "MAIL_FROM": "客户档案系统 <notices@crm.example.test>",
        "BASE_URL": BASE_URL,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    yield sink
    controller.stop()


class Webhooks:
    """Records every POST (path, query, JSON body); answers like the robots do, or fails."""

    def __init__(self):
        self.requests = []
        self.fail_with = None  # None | an HTTP status | {"errcode": …}
        self.on_request = None  # called before answering (a test may kill the sender there)
        self.lock = threading.Lock()

    def bodies(self, path):
        return [body for p, _q, body in self.requests if p == path]


@pytest.fixture
def webhooks(app, monkeypatch):
    hooks = Webhooks()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            url = urlparse(self.path)
            with hooks.lock:
                hooks.requests.append((url.path, parse_qs(url.query), json.loads(raw)))
            if hooks.on_request:
                hooks.on_request()
            status, answer = 200, {"errcode": 0, "errmsg": "ok"}
            if isinstance(hooks.fail_with, int):
                status, answer = hooks.fail_with, {}
            elif hooks.fail_with:
                answer = hooks.fail_with
            data = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the sender is gone

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hooks.url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setitem(app.config, "BASE_URL", BASE_URL)
    monkeypatch.setitem(app.config, "ROBOT_TIMEOUT", 5)
    yield hooks
    server.shutdown()
    server.server_close()


def add_robot(hooks, kinds, platform="wecom", secret=None, name=None):
    path = "/cgi-bin/webhook/send" if platform == "wecom" else "/robot/send"
    token = "key=wecom-test-key" if platform == "wecom" else "access_token=ding-test-token"
    robot = NoticeRobot(
        name=name or f"{platform} group",
        platform=platform,
        webhook_token=encrypt(f"{hooks.url}{path}?{token}"),
        secret_token=encrypt(secret) if secret else None,
        kinds=list(kinds),
        active=True,
    )
    db.session.add(robot)
    db.session.commit()
    return robot, path
