"""Homes whose root key is in an HSM (SoftHSM2 over PKCS#11) or AWS KMS (moto_server, an
EMULATOR of the KMS API, not AWS itself), from Python.

`source .ci/softhsm` and `source .ci/moto` export what these tests read
(TRUST_TEST_PKCS11_MODULE/_PIN/_TOKEN, TRUST_TEST_KMS_ENDPOINT). Without them the tests skip
with the reason printed; under CI=true they fail instead.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

import pytest

import trust


def _server(var: str, how: str) -> str:
    value = os.environ.get(var)
    if not value:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{var} is unset under CI=true ({how})")
        pytest.skip(f"{var} is unset ({how})")
    return value


class Hsm:
    def __init__(self) -> None:
        self.module = _server("TRUST_TEST_PKCS11_MODULE", "source .ci/softhsm for a SoftHSM2 token")
        self.pin = os.environ.get("TRUST_TEST_PKCS11_PIN", "1234")
        self.token = os.environ.get("TRUST_TEST_PKCS11_TOKEN", "trust-ci")

    def uri(self) -> str:
        # A fresh object per test (and per run: the token outlives test runs).
        return f"pkcs11:token={self.token};object=py-{uuid.uuid4().hex[:12]}?module-path={self.module}"


@pytest.fixture
def hsm(monkeypatch: pytest.MonkeyPatch) -> Hsm:
    h = Hsm()
    # The tests name their PIN source; the default variable must not answer for them.
    monkeypatch.delenv("TRUST_PKCS11_PIN", raising=False)
    monkeypatch.setenv("PY_TEST_HSM_PIN", h.pin)
    return h


class Kms:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def create_key(self) -> str:
        """One unsigned CreateKey (moto accepts it while its IAM checks are off)."""
        req = urllib.request.Request(
            self.endpoint,
            data=b"{}",
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": "TrentService.CreateKey",
                "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00",
            },
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            key_id: str = json.load(r)["KeyMetadata"]["KeyId"]
            return key_id


@pytest.fixture
def kms(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> Kms:
    endpoint = _server("TRUST_TEST_KMS_ENDPOINT", "source .ci/moto for the moto KMS emulator")
    # Configured the AWS way, from the environment (read by the SDK inside trust), and nothing
    # from the machine running the tests.
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return Kms(endpoint)


def in_new_process(code: str) -> str:
    """Runs `code` in a fresh interpreter (same environment) and returns its stdout."""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def cli_run(cli, *args, stdin=b"", env=None):
    return subprocess.run([str(cli), *args], input=stdin, capture_output=True, timeout=120, env=env)


# --- HSM (PKCS#11) ------------------------------------------------------------------------


def test_hsm_home_seals_reopens_in_a_new_process_and_opens_with_the_cli(hsm, cli, tmp_path):
    home_dir = tmp_path / "home"
    uri = hsm.uri()
    home = trust.Home.init(home_dir, root_pkcs11=uri, pin_env="PY_TEST_HSM_PIN")
    assert "module-path" in json.loads((home_dir / "home.json").read_text())["root"]["uri"]
    home.create_keyring("creds")
    token = home.seal_token("creds", b"shpat_from_python", context={"shop": "a"})
    blob = home.seal("creds", b"blob", context={"shop": "a"})
    assert home.open(blob, context={"shop": "a"}) == b"blob"
    del home

    # Another process opens it with the PIN from a file.
    pin_file = tmp_path / "pin"
    pin_file.write_text(hsm.pin + "\n")
    out = in_new_process(
        "import sys, trust\n"
        f"h = trust.Home.open({str(home_dir)!r}, pin_file={str(pin_file)!r})\n"
        f"sys.stdout.write(h.open_token({token!r}, context={{'shop': 'a'}}).decode())\n"
    )
    assert out == "shpat_from_python"

    # The CLI opens what Python sealed, and the reverse.
    env = dict(os.environ, TRUST_PKCS11_PIN=hsm.pin)
    p = cli_run(cli, "--home", str(home_dir), "decrypt", "--context", "shop=a", stdin=token.encode(), env=env)
    assert (p.returncode, p.stdout) == (0, b"shpat_from_python"), p.stderr
    p = cli_run(cli, "--home", str(home_dir), "encrypt", "--key", "creds", "--armor", "--context", "shop=a", stdin=b"from-cli", env=env)
    assert p.returncode == 0, p.stderr
    again = trust.Home.open(home_dir, pin_env="PY_TEST_HSM_PIN")
    assert again.open_token(p.stdout.decode().strip(), context={"shop": "a"}) == b"from-cli"


def test_hsm_wrong_pin_is_key_unavailable_and_never_echoed(hsm, tmp_path):
    home_dir = tmp_path / "home"
    trust.Home.init(home_dir, root_pkcs11=hsm.uri(), pin_env="PY_TEST_HSM_PIN").create_keyring("k")
    # In a fresh process: PKCS#11 logs in per process, so while any home of this process holds
    # a session on the token, the token accepts any login.
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys, trust\n"
            "home, other, uri = sys.argv[1:]\n"
            "def seen(call):\n"
            "    try:\n"
            "        call()\n"
            "        return 'no error'\n"
            "    except trust.TrustError as e:\n"
            "        return [type(e).__name__, e.code, e.category, 'wrong-pin-0000' in str(e) + repr(e)]\n"
            "print(json.dumps([\n"
            "    seen(lambda: trust.Home.open(home, pin_env='PY_TEST_WRONG_PIN')),\n"
            "    seen(lambda: trust.Home.open(home)),\n"
            "    seen(lambda: trust.Home.init(other, root_pkcs11=uri, pin_env='PY_TEST_WRONG_PIN')),\n"
            "]))\n",
            str(home_dir),
            str(tmp_path / "other"),
            hsm.uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        # The default source, TRUST_PKCS11_PIN, is wrong too.
        env=dict(os.environ, PY_TEST_WRONG_PIN="wrong-pin-0000", TRUST_PKCS11_PIN="wrong-pin-0000"),
    )
    assert out.returncode == 0, out.stderr
    wrong = ["KeyUnavailableError", "PKCS11_WRONG_PIN", "KEY_UNAVAILABLE", False]
    assert json.loads(out.stdout) == [wrong, wrong, wrong]
    # A new home with a wrong PIN is refused before anything is written.
    assert not (tmp_path / "other" / "home.json").exists()


def test_hsm_pin_sources_are_checked(hsm, tmp_path):
    with pytest.raises(trust.InputError) as e:
        trust.Home.init(tmp_path / "h", root_pkcs11=hsm.uri(), pin_env="PY_TEST_UNSET_PIN_VARIABLE")
    assert e.value.code == "INPUT_UNREADABLE" and "PY_TEST_UNSET_PIN_VARIABLE" in str(e.value)
    with pytest.raises(trust.InputError):
        trust.Home.init(tmp_path / "h", root_pkcs11=hsm.uri(), pin_file=tmp_path / "absent")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(trust.UsageError):
        trust.Home.init(tmp_path / "h", root_pkcs11=hsm.uri(), pin_file=empty)
    with pytest.raises(trust.UsageError) as e:
        trust.Home.init(tmp_path / "h", root_pkcs11=hsm.uri(), pin_env="PY_TEST_HSM_PIN", pin_file=empty)
    assert e.value.code == "INVALID_ARGUMENT"
    # No PIN at all (TRUST_PKCS11_PIN is unset in these tests).
    with pytest.raises(trust.UsageError) as e:
        trust.Home.init(tmp_path / "h", root_pkcs11=hsm.uri())
    assert e.value.code == "PKCS11_NO_PIN"
    # A PIN inside the URI is refused, and not echoed.
    with pytest.raises(trust.UsageError) as e:
        trust.Home.init(tmp_path / "h", root_pkcs11=f"pkcs11:token=t;object=o;pin-value=s3cr3t?module-path={hsm.module}")
    assert "s3cr3t" not in str(e.value)
    # A PIN only goes with an HSM root; one root at a time.
    with pytest.raises(trust.UsageError):
        trust.Home.init(tmp_path / "h", root_key_file=tmp_path / "k", pin_env="PY_TEST_HSM_PIN")
    with pytest.raises(trust.UsageError):
        trust.Home.init(tmp_path / "h", root_key_file=tmp_path / "k", root_pkcs11=hsm.uri())
    assert not (tmp_path / "h" / "home.json").exists()
    # A module that cannot be loaded is an unreadable input.
    with pytest.raises(trust.InputError) as e:
        trust.Home.init(tmp_path / "h", root_pkcs11="pkcs11:token=t;object=o?module-path=/nonexistent/libnone.so", pin_env="PY_TEST_HSM_PIN")
    assert e.value.code == "PKCS11_MODULE_UNLOADABLE"


def test_rewrap_root_moves_a_key_file_home_into_the_hsm(hsm, cli, tmp_path):
    home_dir = tmp_path / "home"
    home = trust.Home.init(home_dir, root_key_file=tmp_path / "root.key")
    home.create_keyring("a")
    home.create_keyring("b")
    token = home.seal_token("a", b"kept", context={"t": "1"})
    del home
    uri = hsm.uri()
    assert trust.Home.rewrap_root(home_dir, to_pkcs11=uri, pin_env="PY_TEST_HSM_PIN") == 2
    moved = trust.Home.open(home_dir, pin_env="PY_TEST_HSM_PIN")
    assert moved.open_token(token, context={"t": "1"}) == b"kept"
    # The old key file no longer opens it.
    with pytest.raises(trust.TrustError):
        trust.Home.open(home_dir, root_key_file=tmp_path / "root.key")
    # Moving to the root it already has is refused.
    with pytest.raises(trust.UsageError):
        trust.Home.rewrap_root(home_dir, to_pkcs11=uri, pin_env="PY_TEST_HSM_PIN")
    with pytest.raises(trust.UsageError):
        trust.Home.rewrap_root(home_dir)
    # The CLI agrees.
    env = dict(os.environ, TRUST_PKCS11_PIN=hsm.pin)
    p = cli_run(cli, "--home", str(home_dir), "decrypt", "--context", "t=1", stdin=token.encode(), env=env)
    assert (p.returncode, p.stdout) == (0, b"kept"), p.stderr


# --- AWS KMS (moto emulator) --------------------------------------------------------------


def test_kms_home_seals_reopens_in_a_new_process_and_opens_with_the_cli(kms, cli, tmp_path):
    key = kms.create_key()
    home_dir = tmp_path / "home"
    home = trust.Home.init(home_dir, root_aws_kms=key)
    assert json.loads((home_dir / "home.json").read_text())["root"]["uri"].startswith(f"aws-kms:key={key};store=")
    home.create_keyring("creds")
    token = home.seal_token("creds", b"sk_live_x", context={"tenant": "acme"})
    del home
    out = in_new_process(
        "import sys, trust\n"
        f"h = trust.Home.open({str(home_dir)!r})\n"
        f"sys.stdout.write(h.open_token({token!r}, context={{'tenant': 'acme'}}).decode())\n"
    )
    assert out == "sk_live_x"
    p = cli_run(cli, "--home", str(home_dir), "decrypt", "--context", "tenant=acme", stdin=token.encode())
    assert (p.returncode, p.stdout) == (0, b"sk_live_x"), p.stderr


def test_kms_unreachable_endpoint_and_missing_config_are_typed_errors(kms, tmp_path, monkeypatch):
    key = kms.create_key()
    home_dir = tmp_path / "home"
    trust.Home.init(home_dir, root_aws_kms=key).create_keyring("k")
    with pytest.raises(trust.UsageError):
        trust.Home.init(tmp_path / "x", root_aws_kms=key, pin_env="PY_TEST_HSM_PIN")
    with pytest.raises(trust.UsageError) as e:
        trust.Home.init(tmp_path / "x", root_aws_kms="not a key id")
    assert e.value.code == "KMS_KEY_ID_INVALID"

    # Port 9 (discard) on loopback: nothing listens there.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    with pytest.raises(trust.InputError) as e:
        trust.Home.open(home_dir)
    assert e.value.code == "KMS_UNREACHABLE"
    assert e.value.hint and "AWS_ENDPOINT_URL" in e.value.hint
    with pytest.raises(trust.InputError) as e:
        trust.Home.init(tmp_path / "fresh", root_aws_kms=key)
    assert e.value.code == "KMS_UNREACHABLE"
    assert not (tmp_path / "fresh" / "home.json").exists()

    monkeypatch.setenv("AWS_ENDPOINT_URL", kms.endpoint)
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(trust.UsageError) as e:
        trust.Home.open(home_dir)
    assert e.value.code == "KMS_CONFIG_INCOMPLETE"


def test_kms_unknown_key_is_key_unavailable(kms, tmp_path):
    with pytest.raises(trust.KeyUnavailableError) as e:
        trust.Home.init(tmp_path / "h", root_aws_kms="alias/py-no-such-alias-" + uuid.uuid4().hex[:8])
    assert e.value.code == "KMS_KEY_NOT_FOUND"
    assert not (tmp_path / "h" / "home.json").exists()


def test_rewrap_root_moves_a_passphrase_home_to_kms(kms, tmp_path):
    home_dir = tmp_path / "home"
    home = trust.Home.init(home_dir, passphrase=b"correct horse battery staple", m_kib=8192, t=1, p=1)
    home.create_keyring("a")
    blob = home.seal("a", b"payload")
    del home
    key = kms.create_key()
    with pytest.raises(trust.TrustError):
        trust.Home.rewrap_root(home_dir, to_aws_kms=key, passphrase=b"wrong passphrase here")
    assert trust.Home.rewrap_root(home_dir, to_aws_kms=key, passphrase=b"correct horse battery staple") == 1
    assert trust.Home.open(home_dir).open(blob) == b"payload"


# --- The GIL is released during HSM, KMS and argon2 work ----------------------------------


def main_thread_progress_during(call, repeat: int) -> int:
    """How many times this (main) thread ran Python code while another thread was inside
    `call()` (made `repeat` times in a row).

    The switch interval is raised so that the interpreter never takes the GIL from a thread by
    itself: the main thread can run only when the other thread gives the GIL up, which a native
    call holding the GIL never does. So the count is 0 when `call` keeps the GIL and positive
    when it releases it. Counting, not timing, decides.
    """
    state = {"phase": 0, "error": None}

    def worker() -> None:
        try:
            state["phase"] = 1
            for _ in range(repeat):
                call()
        except BaseException as e:  # surfaced below
            state["error"] = e
        finally:
            state["phase"] = 2

    old = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    seen = 0
    try:
        t = threading.Thread(target=worker)
        t.start()
        while state["phase"] != 2:
            if state["phase"] == 1:
                seen += 1
            time.sleep(0)  # gives the GIL up, so the worker can take it back and finish
        t.join()
    finally:
        sys.setswitchinterval(old)
    if state["error"] is not None:
        raise state["error"]
    return seen


def test_the_progress_probe_sees_a_call_that_holds_the_gil():
    # The control: pure Python never gives the GIL up under the raised switch interval.
    assert main_thread_progress_during(lambda: sum(range(200_000)), repeat=5) == 0


def test_gil_is_released_during_hsm_calls(hsm, tmp_path):
    uri = hsm.uri()
    trust.Home.init(tmp_path / "h0", root_pkcs11=uri, pin_env="PY_TEST_HSM_PIN").create_keyring("k")
    n = iter(range(1, 100))
    assert main_thread_progress_during(
        lambda: trust.Home.init(tmp_path / f"h{next(n)}", root_pkcs11=uri, pin_env="PY_TEST_HSM_PIN"), repeat=8
    ) > 0
    assert main_thread_progress_during(lambda: trust.Home.open(tmp_path / "h0", pin_env="PY_TEST_HSM_PIN"), repeat=8) > 0


def test_gil_is_released_during_kms_calls(kms, tmp_path):
    key = kms.create_key()
    trust.Home.init(tmp_path / "h", root_aws_kms=key).create_keyring("k")
    assert main_thread_progress_during(lambda: trust.Home.open(tmp_path / "h"), repeat=4) > 0


def test_gil_is_released_during_argon2(tmp_path):
    trust.Home.init(tmp_path / "h", passphrase=b"a long enough passphrase", m_kib=8192, t=1, p=1)
    assert main_thread_progress_during(
        lambda: trust.Home.open(tmp_path / "h", passphrase=b"a long enough passphrase"), repeat=4
    ) > 0
    assert main_thread_progress_during(lambda: trust.password.hash("hunter2 but longer"), repeat=2) > 0


def test_kms_persistent_throttling_is_an_input_error_and_a_disabled_key_key_unavailable(kms, tmp_path, monkeypatch):
    """moto never throttles nor refuses a disabled key: a loopback server (a thread of this
    process, which runs only because Home.open releases the GIL) answers every request with
    the error document AWS documents for those cases."""
    import http.server

    key = kms.create_key()
    home_dir = tmp_path / "home"
    trust.Home.init(home_dir, root_aws_kms=key).create_keyring("k")
    answered = {"n": 0}
    error_type = {"value": "ThrottlingException"}

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            answered["n"] += 1
            doc = json.dumps({"__type": error_type["value"], "message": "refused by the test server"}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("x-amzn-ErrorType", error_type["value"])
            self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
            self.send_header("Content-Length", str(len(doc)))
            self.end_headers()
            self.wfile.write(doc)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")
        with pytest.raises(trust.InputError) as e:
            trust.Home.open(home_dir)
        assert e.value.code == "KMS_THROTTLED"
        assert answered["n"] > 1, "throttling is retried before it is reported"
        error_type["value"] = "DisabledException"
        with pytest.raises(trust.KeyUnavailableError) as e:
            trust.Home.open(home_dir)
        assert e.value.code == "KMS_KEY_DISABLED"
    finally:
        server.shutdown()
