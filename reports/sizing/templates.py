"""The sizing report's jinja2 templates, kept as strings so no package data is needed."""

from __future__ import annotations

import jinja2

REPORT_MD = """\
# {{ title }}

{{ subtitle }} · {{ start_long }} to {{ end_long }}

## Inputs

| input | value |
|---|---|
{% for name, value in inputs -%}
| {{ name }} | {{ value }} |
{% endfor %}
## Key figures

| figure | value | note |
|---|---:|---|
{% for f in figures -%}
| {{ f.label }} | **{{ f.value }}** | {{ f.note }} |
{% endfor %}
{{ explanation }}

## Occupancy over time

{% if chart -%}
![Bytes on the share per day, with the budget{% if has_capacity %} and the capacity{% endif %}]({{ chart }})
{%- else -%}
_(The chart is written beside the report when `--out` is given.)_
{%- endif %}

## Required bytes by frequency and retention

Each cell is per backup × backups kept. **Bold** is the current policy{% if has_capacity %}; ⚠ marks a policy whose peak during a write exceeds the {{ capacity }} share{% endif %}.

| retention \\ frequency |{% for f in matrix.frequencies %} {{ f }} h |{% endfor %}
|---|{% for f in matrix.frequencies %}---:|{% endfor %}
{% for row in matrix.rows -%}
| {{ row.retention }} days |{% for c in row.cells %} {% if c.policy %}**{{ c.required }}**{% else %}{{ c.required }}{% endif %}{% if c.over %} ⚠{% endif %} |{% endfor %}
{% endfor %}
Sizes are modelled: 1 GB = 10^9 bytes. Before each scheduled backup is written, the backups as
old as the retention period are deleted, so the peak during a write is the required figure (with
growth, the kept backups' growing sizes). The share starts empty when backup is enabled on day 0;
the first backup comes one period later. On-demand backups are not in the table or the chart.
"""

REPORT_HTML = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · {{ subtitle }}</title>
<style>
  :root { --ink:#1b1b1f; --muted:#5f6368; --line:#e3e5e8; --brand:#0f6cbd; --soft:#f4f7fb;
          --bad:#c50f1f; --badsoft:#fdecee; --good:#0e7a0d; }
  * { box-sizing: border-box; }
  body { margin:0; color:var(--ink); background:#fff;
         font:15px/1.5 "Segoe UI", system-ui, -apple-system, "Helvetica Neue", Arial, sans-serif; }
  main { max-width: 1060px; margin: 0 auto; padding: 32px 40px 48px; }
  header { border-bottom: 3px solid var(--brand); padding-bottom: 14px; margin-bottom: 22px; }
  header .kicker { color: var(--brand); font-weight: 600; letter-spacing: .06em;
                   text-transform: uppercase; font-size: 12px; }
  h1 { font-size: 28px; margin: 4px 0 2px; font-weight: 650; }
  header .sub { color: var(--muted); }
  h2 { font-size: 17px; margin: 30px 0 10px; font-weight: 650; }
  .inputs { display: flex; flex-wrap: wrap; gap: 8px 10px; margin: 0; padding: 0; }
  .inputs div { background: var(--soft); border: 1px solid var(--line); border-radius: 6px;
                padding: 6px 12px; }
  .inputs dt { font-size: 11px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
  .inputs dd { margin: 0; font-weight: 600; }
  .figures { display: grid; grid-template-columns: repeat(4, 1fr); gap: 14px; margin-top: 18px; }
  .figure { border: 1px solid var(--line); border-radius: 8px; padding: 14px 18px 12px;
            border-top: 4px solid var(--brand); break-inside: avoid; }
  .figure .label { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .05em; }
  .figure .value { font-size: 30px; font-weight: 700; line-height: 1.2; margin: 4px 0 2px;
                   font-variant-numeric: tabular-nums; }
  .figure .note { font-size: 13px; color: var(--muted); }
  .figure.bad { border-top-color: var(--bad); } .figure.bad .value { color: var(--bad); }
  .figure.good { border-top-color: var(--good); } .figure.good .value { color: var(--good); }
  .explain { font-size: 16px; background: var(--soft); border-left: 4px solid var(--brand);
             padding: 14px 18px; border-radius: 0 6px 6px 0; margin: 22px 0 0; }
  figure { margin: 0; break-inside: avoid; }
  figure img { width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
  figcaption { font-size: 13px; color: var(--muted); margin-top: 6px; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums;
          font-size: 13.5px; break-inside: avoid; }
  th, td { border: 1px solid var(--line); padding: 5px 8px; text-align: right; }
  thead th { background: var(--soft); font-weight: 600; }
  tbody th { background: var(--soft); font-weight: 600; text-align: left; white-space: nowrap; }
  td .kept { display: block; font-size: 11px; color: var(--muted); }
  td.over { background: var(--badsoft); color: var(--bad); }
  td.over .kept { color: var(--bad); }
  td.policy { outline: 3px solid var(--brand); outline-offset: -3px; font-weight: 700;
              background: #e1eefa; }
  td.policy.over { background: #f9d9dd; }
  .legend { font-size: 13px; color: var(--muted); margin: 8px 0 0; }
  .swatch { display: inline-block; width: 12px; height: 12px; vertical-align: -1px;
            border-radius: 2px; margin: 0 4px 0 12px; }
  .swatch.policy { background: #e1eefa; outline: 2px solid var(--brand); outline-offset: -2px; }
  .swatch.over { background: var(--badsoft); border: 1px solid var(--bad); }
  footer { margin-top: 30px; padding-top: 10px; border-top: 1px solid var(--line);
           font-size: 12px; color: var(--muted); }
  @media (max-width: 760px) { .figures { grid-template-columns: repeat(2, 1fr); } main { padding: 20px; } }
  @media print {
    @page { size: A4; margin: 14mm; }
    body { font-size: 11pt; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
    main { max-width: none; padding: 0; }
    .figure .value { font-size: 24pt; }
    h2 { break-after: avoid; }
    section { break-inside: avoid; }
  }
</style>
</head>
<body>
<main>
<header>
  <div class="kicker">Azure Stack Hub · Infrastructure Backup</div>
  <h1>{{ title }}</h1>
  <div class="sub">{{ subtitle }} · plan from {{ start_long }} to {{ end_long }}</div>
</header>

<section aria-label="Inputs">
  <dl class="inputs">
  {%- for name, value in inputs %}
    <div><dt>{{ name }}</dt><dd>{{ value }}</dd></div>
  {%- endfor %}
  </dl>
</section>

<section class="figures" aria-label="Key figures">
{%- for f in figures %}
  <div class="figure{% if f.get('tone') %} {{ f.tone }}{% endif %}">
    <div class="label">{{ f.label }}</div>
    <div class="value">{{ f.value }}</div>
    <div class="note">{{ f.note }}</div>
  </div>
{%- endfor %}
</section>

<p class="explain">{{ explanation }}</p>

<section>
  <h2>Occupancy over time</h2>
  <figure>
    <img alt="Bytes on the share per day, with the budget line{% if has_capacity %} and the share capacity{% endif %}"
         src="data:image/png;base64,{{ chart_b64 }}">
    <figcaption>Blue: bytes on the share at the end of each day. Pink: the day's highest point,
      just after a write (expired backups are deleted before each write). Dashed: the budget,
      per backup × backups kept{% if has_capacity %}. Red: the share's capacity{% endif %}.
      The share starts empty on day 0; scheduled backups only.</figcaption>
  </figure>
</section>

<section>
  <h2>Required space by backup frequency and retention</h2>
  <table>
    <thead>
      <tr><th scope="col" style="text-align:left">Retention \\ every</th>
      {%- for f in matrix.frequencies %}<th scope="col">{{ f }} h</th>{% endfor %}</tr>
    </thead>
    <tbody>
    {%- for row in matrix.rows %}
      <tr><th scope="row">{{ row.retention }} days</th>
      {%- for c in row.cells %}<td class="{% if c.policy %}policy{% endif %}{% if c.over %} over{% endif %}" title="{{ c.kept }} backups kept; peak {{ c.peak }}">{{ c.required }}<span class="kept">{{ c.kept }} kept</span></td>{% endfor %}</tr>
    {%- endfor %}
    </tbody>
  </table>
  <p class="legend">Each cell: per backup × backups kept.
    <span class="swatch policy"></span>current policy
    {%- if has_capacity %}<span class="swatch over"></span>peak during a write{% if i.growth %} (with growth){% endif %} exceeds the {{ capacity }} share{% endif %}</p>
</section>

<footer>
  Sizes are modelled: 1 GB = 10<sup>9</sup> bytes. Backups kept = 24 / frequency × retention days,
  rounded up: before each scheduled backup is written, the backups as old as the retention period
  are deleted. The first backup comes one period after backup is enabled on day 0. An on-demand
  backup adds one backup until it expires. Growth is compound per year, applied per day to each
  new backup. Generated by <code>ibs sizing</code>.
</footer>
</main>
</body>
</html>
"""

_TEMPLATES = {"report.md": REPORT_MD, "report.html": REPORT_HTML}


def environment(html: bool) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.DictLoader(_TEMPLATES), autoescape=html,
                              keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
