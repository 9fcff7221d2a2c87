import os
import pathlib

import pytest

import trust


@pytest.fixture
def home(tmp_path: pathlib.Path) -> trust.Home:
    h = trust.Home.init(tmp_path / "home", root_key_file=tmp_path / "root.key")
    h.create_keyring("orders")
    return h


def cli_path() -> pathlib.Path | None:
    """The `trust` binary for interop tests: $TRUST_CLI, else the workspace's debug build."""
    env = os.environ.get("TRUST_CLI")
    if env:
        return pathlib.Path(env)
    root = pathlib.Path(__file__).resolve().parents[3]
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", root / "target"))
    candidate = target / "debug" / "trust"
    return candidate if candidate.exists() else None


@pytest.fixture
def cli() -> pathlib.Path:
    path = cli_path()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the trust CLI is not built (set TRUST_CLI or build target/debug/trust)")
        pytest.skip("the trust CLI is not built (cargo build -p trust-cli); interop skipped")
    return path
