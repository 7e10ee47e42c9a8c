"""The plugin's tests use pytester.

``pytest_plugins = ["pytester"]`` here works for ``pytest tests/plugin`` but is an error in a
non-top-level conftest when the whole suite runs (pytest >= 8), so pytester is loaded from
``pytest_configure`` instead, which works both ways.

pytester runs pytest in this process and, after each run, forgets the modules it imported.
cryptography's Rust core cannot be imported twice, so everything the inner runs use is
imported here first, once.
"""

import cryptography.hazmat.primitives.hashes  # noqa: F401
import hypothesis  # noqa: F401
import pytest

import ibs.engine.certs
import ibs.engine.controller
import ibs.engine.share.smb
import ibs.fake_smb.samba
import ibs.fake_smb.server
import ibs.scenarios.runner
import ibs.scenarios.strategies
import ibs.simulator.hub
import ibs.simulator.wire  # noqa: F401


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
