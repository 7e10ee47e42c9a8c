"""The route table: what is served, under which api-versions, and how a path is matched.

``gate`` answers 401/404/405/400 (api-version) from it before a request reaches FastAPI, and
``app`` registers one endpoint per entry, so the table, the checks and the OpenAPI document
cannot drift apart. ARM paths are case-insensitive: a matched path is rewritten into the
table's spelling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ibs.engine.rp import arm

BASE = ("/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
        f"/providers/{arm.NAMESPACE}")
ALL_VERSIONS = arm.API_VERSIONS
PATCH_ONLY = (arm.PATCH_API_VERSION,)
LOC = "backupLocations/{location}"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # relative to BASE, absolute when starting "/"
    handler: str
    summary: str
    versions: tuple[str, ...] = ALL_VERSIONS
    long_running: bool = False
    extension: bool = False  # not in the published specification
    auth: bool = True

    @property
    def template(self) -> str:
        return self.path if self.path.startswith("/") else f"{BASE}/{self.path}"

    @property
    def regex(self) -> re.Pattern[str]:
        parts = re.split(r"(\{\w+\})", self.template)
        pattern = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p)
                          for p in parts)
        return re.compile(f"^{pattern}$", re.IGNORECASE)

    def canonical(self, params: dict[str, str]) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], self.template)


ROUTES: tuple[Route, ...] = (
    Route("GET", "operations", "list_operations", "List the provider's operations"),
    Route("GET", f"/providers/{arm.NAMESPACE}/operations", "list_operations_tenant",
          "List the provider's operations (ARM's tenant-level path)"),
    Route("GET", "backupLocations", "list_locations", "List backup locations (one: local)"),
    Route("GET", LOC, "get_location", "Get the backup location"),
    Route("PUT", LOC, "put_location", "Set the backup location (absent schedule settings get "
          "their defaults; \"\" clears path, user, password, certificate)", long_running=True),
    Route("PATCH", LOC, "patch_location", "Change only the given settings",
          versions=PATCH_ONLY, long_running=True),
    Route("POST", f"{LOC}/createBackup", "create_backup", "Start an on-demand backup",
          long_running=True),
    Route("POST", f"{LOC}/pruneExternalStore", "prune", "Delete or list what retention lets go"),
    Route("GET", f"{LOC}/backups", "list_backups", "List backups, newest first"),
    Route("GET", f"{LOC}/backups/{{backup}}", "get_backup", "Get one backup"),
    Route("POST", f"{LOC}/backups/{{backup}}/restore", "restore", "Restore roles of a backup",
          long_running=True),
    Route("GET", f"{LOC}/operationStatuses/{{operationId}}", "operation_status",
          "Status of a long-running operation (Azure-AsyncOperation)"),
    Route("GET", f"{LOC}/operationResults/{{operationId}}", "operation_result",
          "Result of a long-running operation (Location): 202 while running, then its answer"),
    Route("GET", f"{LOC}/alerts", "list_alerts", "Active alerts with their remediation",
          extension=True),
)
_COMPILED = [(route, route.regex) for route in ROUTES]


def match(method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
    """The route, its path parameters, and (when only the method is wrong) the allowed ones."""
    allowed = []
    for route, regex in _COMPILED:
        m = regex.match(path)
        if m:
            if route.method == method:
                return route, m.groupdict(), []
            allowed.append(route.method)
    return None, {}, sorted(set(allowed))
