"""The plugin's tests use pytester.

``pytest_plugins = ["pytester"]`` here works for ``pytest tests/plugin`` but is an error in a
non-top-level conftest when the whole suite runs (pytest >= 8), so pytester is loaded from
``pytest_configure`` instead, which works both ways.

pytester runs pytest in this process and, after each run, forgets the modules it imported.
cryptography's Rust core cannot be imported twice, so everything the inner runs use is
imported here first, once.
"""

import cryptography.hazmat.primitives.hashes  # noqa: F401
import ibs.engine.certs  # noqa: F401
import ibs.engine.controller  # noqa: F401
import ibs.engine.share.smb  # noqa: F401
import ibs.fake_smb.samba  # noqa: F401
import ibs.fake_smb.server  # noqa: F401
import hypothesis  # noqa: F401
import pytest
import ibs.scenarios.runner  # noqa: F401
import ibs.scenarios.strategies  # noqa: F401
import ibs.simulator.hub  # noqa: F401
import ibs.simulator.wire  # noqa: F401


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
