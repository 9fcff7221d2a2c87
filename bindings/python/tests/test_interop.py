"""The Python package and the `trust` CLI read each other's tokens and logs."""

import json
import subprocess

import trust
import trust.audit


def run(cli, *args, stdin=b""):
    p = subprocess.run([str(cli), *args], input=stdin, capture_output=True, timeout=120)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    return p.stdout


def test_token_from_python_opens_with_cli_and_back(cli, tmp_path):
    home_dir = tmp_path / "home"
    home = trust.Home.init(home_dir, root_key_file=tmp_path / "root.key")
    home.create_keyring("creds")
    token = home.seal_token("creds", b"refresh-token-1", context={"tenant": "acme"})
    out = run(cli, "--home", str(home_dir), "decrypt", "--context", "tenant=acme", stdin=token.encode())
    assert out == b"refresh-token-1"
    armored = run(cli, "--home", str(home_dir), "encrypt", "--key", "creds", "--armor", "--context", "tenant=acme", stdin=b"from-cli")
    assert home.open_token(armored.decode().strip(), context={"tenant": "acme"}) == b"from-cli"
    blob = run(cli, "--home", str(home_dir), "encrypt", "--key", "creds", "--context", "tenant=acme", stdin=b"binary")
    assert home.open(blob, context={"tenant": "acme"}) == b"binary"


def test_log_from_python_verifies_with_cli(cli, tmp_path):
    log = trust.audit.Log.init(tmp_path / "audit", origin="example.com/audit")
    log.append("key.rotate", actor="ops", subject="orders")
    log.checkpoint()
    out = run(cli, "--json", "audit", "verify", "--log", str(tmp_path / "audit"), "--vkey", log.vkey)
    assert json.loads(out)["ok"] is True
    vkey = log.vkey
    del log  # one writer per log: release it so the CLI can open it for `prove`
    receipt = run(cli, "audit", "prove", "--log", str(tmp_path / "audit"), "--index", "0")
    assert trust.audit.verify_proof(receipt.decode(), vkey).index == 0
