"""A real S3 API for the tests: moto's server mode in a process of its own, on a free port
(issue 17 point 4). Used by the storage tests and by the cluster test's processes."""

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

ACCESS_KEY, SECRET_KEY, REGION = "test-access-key", "test-secret-key", "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class S3Server:
    """`moto_server -p PORT` started and stopped; ``config(bucket)`` is what the app needs."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self, log: Path | None = None) -> "S3Server":
        program = Path(sys.executable).with_name("moto_server")
        command = (
            [str(program)]
            if program.exists() or not shutil.which("moto_server")
            else ["moto_server"]
        )
        out = log.open("ab") if log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [*command, "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.process.returncode}")
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).close()
                return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("moto_server did not answer within 30 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def client(self):
        from crm.storage import make_client

        return make_client(self.url, ACCESS_KEY, SECRET_KEY, REGION, "path")

    def new_bucket(self) -> str:
        name = f"crm-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def config(self, bucket: str, prefix: str = "archive") -> dict:
        """The app's settings (names without CRM_) for the bucket."""
        return {
            "STORAGE_URL": f"s3://{bucket}/{prefix}",
            "S3_ENDPOINT_URL": self.url,
            "S3_ACCESS_KEY_ID": ACCESS_KEY,
            "S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "S3_REGION": REGION,
            "S3_ADDRESSING_STYLE": "path",
        }

    def environ(self, bucket: str, prefix: str = "archive") -> dict:
        return {f"CRM_{k}": v for k, v in self.config(bucket, prefix).items()}


def available() -> bool:
    return importlib.util.find_spec("moto") is not None


if __name__ == "__main__":  # pragma: no cover - by hand: python -m tests.s3server
    server = S3Server().start()
    print(server.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        server.stop()
        os._exit(0)
