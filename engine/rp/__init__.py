"""The Backup Resource Provider: the operator's REST API (Microsoft.Backup.Admin) and web page.

A thin layer over the same controller functions the CLI calls (``engine.controller``); nothing
here validates a setting, writes a backup or reads one back on its own. Modules:

- ``arm``         resource ids and the ARM JSON shapes (BackupLocation, Backup, errors)
- ``auth``        the bearer token: taken from ``IBS_RP_TOKEN`` or made once, stored hashed
- ``models``      the bodies as pydantic models (validation and the OpenAPI document)
- ``operations``  long-running operations (202 + Azure-AsyncOperation / Location), in the store
- ``api``         what each operation does, with no HTTP in it
- ``routes``      the route table: paths, methods, api-versions
- ``gate``        what every request passes first: token, body bounds, route, version, type
- ``app``         the FastAPI application over ``api`` behind ``gate``; ``call`` without a socket
- ``page``        the operator's page (HTML, CSS, JavaScript; no CDN)
- ``server``      uvicorn in a thread (TLS, read deadlines); ``cli`` adds ``ibs serve-rp``
"""
