"""The secrets a scenario handles, so checks can prove none of them leaked anywhere.

They are all derived again from the scenario (seeded certificates, the seeded share password,
passwords written in events), so results and reports never need to carry them.
"""

from __future__ import annotations

from ibs.scenarios.model import Scenario
from ibs.simulator.certificates import cert_pair
from ibs.simulator.hub import initial_share_password


def scenario_secrets(scenario: Scenario) -> list[bytes]:
    names = [f"{scenario.seed}"] + [f"{scenario.seed}:{e.params['name']}"
                                    for e in scenario.events if e.action == "operator_certificate"]
    out: list[bytes] = []
    for name in names:
        _cer, pfx, password = cert_pair(name)
        out += [pfx, password.encode()]
    out.append(initial_share_password(scenario.seed).encode())
    out += [e.params["password"].encode() for e in scenario.events
            if e.action in ("server_password", "operator_credentials")]
    return out
