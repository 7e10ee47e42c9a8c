"""The Backup Resource Provider: the operator's REST API (Microsoft.Backup.Admin) and web page.

A thin layer over the same controller functions the CLI calls (``engine.controller``); nothing
here validates a setting, writes a backup or reads one back on its own. Modules:

- ``arm``         resource ids and the ARM JSON shapes (BackupLocation, Backup, errors)
- ``auth``        the bearer token: taken from ``IBS_RP_TOKEN`` or made once, stored hashed
- ``operations``  long-running operations (202 + Azure-AsyncOperation / Location polling)
- ``api``         the route table and its handlers, sans-I/O: (method, path, body) -> Response
- ``openapi``     the OpenAPI 3 document, generated from the route table
- ``page``        the operator's page (HTML, CSS, JavaScript; no CDN)
- ``server``      http.server glue; ``cli`` adds ``ibs serve-rp``
"""
