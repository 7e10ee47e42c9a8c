"""A fuzz program drawn from its seed alone, whatever the process has imported.

Hypothesis mixes into what it draws some constants it finds in the "local" modules already
imported (hypothesis.internal.conjecture.providers: ``_get_local_constants``, reread whenever
``sys.modules`` grows). The same seed then drew different programs in a CLI, a pytest process
and a Dask worker, which import different modules, and a replay line printed by one did not
replay in another. While any fuzz batch runs, that pool is empty: programs come from the seed
and hypothesis' own constants only.

Hypothesis has no setting for this; the hook is private, so its absence is tolerated (then
tests/cluster and tests/determinism, which compare programs across processes, say so).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_active = 0
_original = None


@contextlib.contextmanager
def seed_only() -> Iterator[None]:
    """Within: hypothesis draws no constants from the modules this process has imported."""
    global _active, _original
    from hypothesis.internal.conjecture import providers
    from hypothesis.internal.constants_ast import Constants

    hooked = hasattr(providers, "_get_local_constants") and hasattr(providers, "CONSTANTS_CACHE")
    if hooked:
        with _lock:
            if _active == 0:
                _original = providers._get_local_constants
                empty = Constants()
                providers._get_local_constants = lambda: empty
                providers.CONSTANTS_CACHE.cache.clear()  # it holds pools drawn from the old hook
            _active += 1
    try:
        yield
    finally:
        if hooked:
            with _lock:
                _active -= 1
                if _active == 0:
                    providers._get_local_constants = _original  # type: ignore[assignment]
                    providers.CONSTANTS_CACHE.cache.clear()
