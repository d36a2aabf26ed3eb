"""The real servers the ops tests run against, one of each per test process (pytest-xdist worker):
moto_server on 127.0.0.1 and a throwaway PostgreSQL cluster (Debian's postgresql; `.ci/run` installs
it). conftest.py imports the fixtures, so that every module shares them: a module that imported a
session fixture itself would get an instance of its own (pytest registers a fixture per module it is
found in): a cluster and a moto_server more."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

PASSWORD = "S3cr3t-pw/9x"  # has a character that URLs must escape
ROWS = {"public.users": 3000, "public.posts": 5000, "public.comments": 8000, "billing.invoices": 1200,
        "public.attachments": 40}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port}")


# ---- servers -----------------------------------------------------------------------------------
# moto builds each region's EC2 backend with ~1,000 public AMIs (moto/ec2/models/amis.py), again after
# every /moto-api/reset: 0.1 s a region. ops/ never reads an AMI.
MOTO_ENV = {"MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}


@contextlib.contextmanager
def moto_server():
    """moto_server on a free loopback port, for the length of the block; yields its URL."""
    port = free_port()
    server = shutil.which("moto_server", path=str(Path(sys.executable).parent))
    proc = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, **MOTO_ENV})
    try:
        wait_for_port(port, proc, "moto_server")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="session")
def aws_env():
    with moto_server() as url:
        env = {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        yield env
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail("PostgreSQL server binaries not found: apt-get install postgresql (bash .ci/run does)")
    return found[-1]


@pytest.fixture(scope="session")
def postgres():
    """A cluster in a temp dir with password auth on 127.0.0.1; yields the admin URL."""
    base = Path(tempfile.mkdtemp(prefix="ops-pg-"))  # directly under /tmp: the postgres user must reach it
    data, sock, pwfile = base / "data", base / "sock", base / "pw"
    sock.mkdir()
    pwfile.write_text(PASSWORD + "\n")
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres system user
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(base, "postgres")
        for p in (sock, pwfile):
            shutil.chown(p, "postgres")
    subprocess.run([*as_user, pg_bin("initdb"), "-D", str(data), "-U", "admin", "--auth=scram-sha-256",
                    f"--pwfile={pwfile}", "--no-sync"], check=True, capture_output=True)
    port = free_port()
    subprocess.run([*as_user, pg_bin("pg_ctl"), "-D", str(data), "-w", "-l", str(base / "log"), "start", "-o",
                    f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off"], check=True,
                   capture_output=True)
    url = f"postgresql://admin:{PASSWORD.replace('/', '%2F')}@127.0.0.1:{port}/appdb?sslmode=disable"
    yield url
    subprocess.run([*as_user, pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


def _app_database(server: str, name: str, attachment_kb: int) -> str:
    """Database `name` on the server of URL `server`, with several tables, two schemas and ROWS's
    rows; its 40 attachments hold `attachment_kb` kB of incompressible bytes each. Its URL."""
    from ops.common import Database

    db = Database.from_url(server)
    with db.with_db("postgres").connect(autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    with db.with_db(name).connect() as conn:
        conn.execute(f"""
            CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE NOT NULL, created timestamptz DEFAULT now());
            CREATE TABLE posts (id serial PRIMARY KEY, user_id int REFERENCES users, body text);
            CREATE TABLE comments (id serial PRIMARY KEY, post_id int REFERENCES posts, body text);
            CREATE TABLE attachments (id serial PRIMARY KEY, data bytea);
            CREATE SCHEMA billing;
            CREATE TABLE billing.invoices (id serial PRIMARY KEY, user_id int REFERENCES users, cents bigint);
            INSERT INTO users (email) SELECT 'user' || g || '@example.com' FROM generate_series(1, 3000) g;
            INSERT INTO posts (user_id, body) SELECT 1 + g % 3000, repeat(md5(g::text), 4) FROM generate_series(1, 5000) g;
            INSERT INTO comments (post_id, body) SELECT 1 + g % 5000, md5(g::text) FROM generate_series(1, 8000) g;
            INSERT INTO billing.invoices (user_id, cents) SELECT 1 + g % 3000, g * 100 FROM generate_series(1, 1200) g;
            INSERT INTO attachments (data) SELECT decode(string_agg(md5(random()::text || g || i), ''), 'hex')
              FROM generate_series(1, 40) g, generate_series(1, {attachment_kb * 1024 // 16}) i GROUP BY g;
        """)
    return server.replace("/appdb?", f"/{name}?")


@pytest.fixture(scope="session")
def appdb(postgres):
    """The app database every backup and restore of the ops tests takes: a dump of about 300 kB
    (`bigdb` is the large one)."""
    return _app_database(postgres, "appdb", attachment_kb=1)


@pytest.fixture(scope="session")
def bigdb(postgres):
    """appdb's tables and row counts with ~6 MB of attachments (150 kB each), so its dump is
    uploaded in parts (S3's smallest part is 5 MiB) and its restore lasts long enough to be
    interrupted. Only the tests that need that take it: pg_dump compresses and moto stores the
    bytes at every backup of it."""
    return _app_database(postgres, "bigdb", attachment_kb=150)
