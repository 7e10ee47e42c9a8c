"""schemathesis against the provider's own OpenAPI document, in process (no socket), bounded:
a fixed number of derandomized examples per operation. No answer may be a 5xx, and every
answer must fit the document: its status code, content type, headers and body schema."""

from __future__ import annotations

import os
import tempfile

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ibs.engine.rp.api import Api
from ibs.engine.rp.app import build
from ibs.engine.rp.auth import TokenCheck, digest
from tests.rp.conftest import TOKEN

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


# One provider for the module (schemathesis parametrizes at collection time), over a store
# of its own that is removed with the module's last reference.
_HOME = tempfile.TemporaryDirectory(prefix="ibs-schemathesis-")
_API = Api(os.path.join(_HOME.name, "store"), TokenCheck(digest(TOKEN)),
           restore_root=os.path.join(_HOME.name, "restores"))
schema = schemathesis.openapi.from_asgi("/openapi.json", build(_API))


@schema.parametrize()
@settings(max_examples=25, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_no_5xx_and_every_answer_fits_the_document(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)
