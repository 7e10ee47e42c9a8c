"""After a backup and a restore, no file anywhere holds the PFX, its password or the share password.

Runs the whole engine on pyfakefs, so "anywhere" really is the entire (fake) file system.
"""

from __future__ import annotations

import os

from ibs.engine import certs
from ibs.engine.clock import ManualClock
from ibs.engine.controller import Controller
from ibs.engine.store import Store
from tests.engine.conftest import T0

SHARE_PASSWORD = "share-pw-never-on-disk-4471"


def all_files():
    for dirpath, _dirs, files in os.walk("/"):
        for name in files:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                with open(path, "rb") as f:
                    yield path, f.read()


def test_no_secret_reaches_any_file(fs, cert_pair):
    fs.create_file("/data/CA/ca.db", contents=b"issued certificates\n" * 200)
    fs.create_file("/data/KeyVault/vault.bin", contents=os.urandom(10000))
    fs.create_dir("/mnt/share")
    clock = ManualClock(T0)
    ctl = Controller(Store("/var/lib/ibs"), clock, chunk_size=4096, threads=False)
    ctl.configure(path="/mnt/share", username="svc", password=SHARE_PASSWORD, cert=cert_pair.cer,
                  sources={"CA": "/data/CA", "KeyVault": "/data/KeyVault"})
    record = ctl.start_backup().run()
    assert record.status == "Succeeded"

    # The operator brings the PFX on removable media for the recovery, then takes it away.
    fs.create_file("/media/usb/recovery.pfx", contents=cert_pair.pfx)
    with open("/media/usb/recovery.pfx", "rb") as f:
        key = certs.load_pfx(f.read(), cert_pair.password)
    os.remove("/media/usb/recovery.pfx")
    restored = ctl.restore(record.id, key, "/recovered")
    assert sorted(restored) == ["/recovered/CA", "/recovered/KeyVault"]
    with open("/recovered/CA/ca.db", "rb") as f:
        assert f.read() == b"issued certificates\n" * 200

    secrets = {
        "PFX bytes": cert_pair.pfx,
        "PFX password": cert_pair.password.encode(),
        "share password": SHARE_PASSWORD.encode(),
    }
    scanned = 0
    for path, data in all_files():
        scanned += 1
        for what, secret in secrets.items():
            assert secret not in data, f"{what} found in {path}"
    assert scanned >= 8  # store files, share files, restored files
