"""Run one engine backup in its own process, so its peak RSS can be read by the parent.

``python -m ibs.reports.bench.worker STORE`` with the store already configured (a LocalShare or a
UNC path, the certificate, the sources). Prints one JSON line: seconds, backup id, status.
With ``IBS_BENCH_PROFILE=FILE`` the backup runs under cProfile and the stats go to FILE.
"""

from __future__ import annotations

import json
import os
import sys
import time

from ibs.engine.clock import SystemClock
from ibs.engine.controller import Controller
from ibs.engine.store import Store


def main(argv: list[str]) -> int:
    ctl = Controller(Store(argv[0]), SystemClock(), threads=True)
    profile = os.environ.get("IBS_BENCH_PROFILE")
    t0 = time.perf_counter()
    if profile:
        import cProfile

        prof = cProfile.Profile()
        record = prof.runcall(lambda: ctl.start_backup().run())
        prof.dump_stats(profile)
    else:
        record = ctl.start_backup().run()
    took = time.perf_counter() - t0
    print(json.dumps({"seconds": took, "id": record.id, "status": record.status,
                      "sizeBytes": record.sizeBytes, "error": record.error,
                      "transferEncrypted": record.transferEncrypted}))
    return 0 if record.status == "Succeeded" else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
