"""The sizing report: a :class:`ibs.simulator.sizing.SizingReport` rendered as JSON, CSV,
Markdown (with a PNG chart) or HTML (:mod:`.render`, :mod:`.templates`). The command that
builds the report is ``ibs sizing`` (:mod:`ibs.simulator.sizing_cli`)."""
