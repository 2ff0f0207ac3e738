"""The three keys the app cannot run without, and the demo's own.

Outside the tests (TestConfig makes keys of its own for each run) and the embedded demo
(CRM_DEMO=1, set by scripts/demo.sh: keys generated once into the instance folder), every key
comes from the environment, and the app refuses to start when one is missing. No key has a
default in the code: a default would be public, and a cookie signed with it would open the app.
"""

import logging
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

DEMO_KEY_FILE = "demo-keys.env"
# The default this app once shipped with: whoever read the code could sign a session with it.
PUBLISHED_SECRET = "dev-only-secret-change-me"
logger = logging.getLogger(__name__)

_RANDOM = 'python3 -c "import secrets; print(secrets.token_urlsafe(48))"'
_FERNET = (
    'python3 -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)
REQUIRED = {
    "SECRET_KEY": ("signs the session cookies", _RANDOM),
    "FIELD_ENCRYPTION_KEY": (
        "encrypts the stored ID numbers (a Fernet key; while rotating, "
        "several, comma-separated, newest first)",
        _FERNET,
    ),
    "LOOKUP_HASH_KEY": ("keys the searchable hash of the ID numbers", _RANDOM),
}


class MissingKeys(SystemExit):
    """Raised by create_app: exits with one message (no traceback) from flask, gunicorn, celery."""


def new_keys() -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "LOOKUP_HASH_KEY": secrets.token_urlsafe(48),
    }


def field_keys(value: str | None) -> list[str]:
    return [k.strip() for k in (value or "").split(",") if k.strip()]


def demo_keys(instance_dir: Path) -> dict[str, str]:
    """The demo's keys: made once into instance/demo-keys.env (mode 600), read back later.
    The web app, the worker and beat start together: whoever writes first wins, atomically."""
    path = Path(instance_dir) / DEMO_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{DEMO_KEY_FILE}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("# Keys of this demo instance only, made by the app on its first start.\n")
            f.writelines(f"CRM_{name}={value}\n" for name, value in new_keys().items())
        try:
            os.link(tmp, path)  # fails if another process made the file meanwhile
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    keys = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and name.startswith("CRM_"):
            keys[name.removeprefix("CRM_")] = value.strip()
    return keys


def check_keys(config, instance_dir) -> None:
    """Fill a demo's missing keys from its key file; refuse to go on without every key."""
    if config.get("DEMO") and not all(config.get(name) for name in REQUIRED):
        stored = demo_keys(Path(instance_dir))
        for name in REQUIRED:
            config[name] = config.get(name) or stored.get(name)
    problems = [(name, "is not set") for name in REQUIRED if not config.get(name)]
    if config.get("SECRET_KEY") == PUBLISHED_SECRET:
        problems.append(("SECRET_KEY", "is the default once published in the code"))
    if config.get("FIELD_ENCRYPTION_KEY"):
        for key in field_keys(config["FIELD_ENCRYPTION_KEY"]):
            try:
                Fernet(key)
            except ValueError:
                problems.append(("FIELD_ENCRYPTION_KEY", "holds a value that is not a Fernet key"))
                break
    if problems:
        # The keys' names and what is wrong, never a value.
        logger.error("start refused: %s", "; ".join(f"CRM_{n} {p}" for n, p in problems))
        raise MissingKeys(missing_message(problems))


def missing_message(problems) -> str:
    lines = ["The CRM will not start: a key is missing or wrong.", ""]
    for name, problem in problems:
        meaning, command = REQUIRED[name]
        lines += [f"  CRM_{name} {problem}. It {meaning}. Make one with:", f"      {command}"]
    lines += [
        "",
        "Set them in the environment of the web app, the worker and beat (the same "
        "values in all three), and keep them safe: without CRM_FIELD_ENCRYPTION_KEY and "
        "CRM_LOOKUP_HASH_KEY the stored ID numbers cannot be read or found.",
        "The embedded demo (scripts/demo.sh, CRM_DEMO=1) makes keys of its own.",
    ]
    return "\n".join(lines)
