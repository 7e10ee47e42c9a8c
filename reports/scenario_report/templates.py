"""The scenario report's jinja2 templates, kept as strings so no package data is needed."""

from __future__ import annotations

import jinja2

REPORT_MD = """\
# {{ title }}

**{% if passed %}PASS{% else %}FAIL{% endif %}**: {{ counts.passed }} passed, {{ counts.failed }} failed, {{ total }} scenario{% if total != 1 %}s{% endif %}
{%- if run_info %}

| run | |
|---|---|
{% for k, v in run_info -%}
| {{ k|cell }} | {{ v|cell }} |
{% endfor -%}
{% endif %}

| | scenario | tags | fidelity | seed | checks | backups | share peak / budget |
|---|---|---|---|---:|---:|---|---:|
{% for s in scenarios -%}
| {% if s.r.passed %}✅{% else %}❌{% endif %} | {{ s.name|cell }} | {{ s.tags|join(", ")|cell }} | {{ s.r.fidelity|cell }} | {{ s.r.seed }} | {{ s.passed_checks|length }}/{{ s.n_checks }} | {{ s.counts_text|cell }} | {{ s.share.peak }} / {{ s.share.budget }}{% if s.share.pct_text %} ({{ s.share.pct_text }}){% endif %} |
{% endfor %}
{%- set failed = scenarios|rejectattr("r.passed")|list %}
{%- if failed %}
## Failed scenarios
{% for s in failed %}
### ❌ {{ s.name }}

`{{ s.r.path }}`{% if s.tags %} · {{ s.tags|join(", ") }}{% endif %} · seed {{ s.r.seed }} · {{ s.r.fidelity }}
{% if s.r.error %}
**The scenario did not run to the end:** `{{ s.r.error }}`
{% endif %}
{% for c in s.failed_checks -%}
- **{{ c.name }}**: {{ c.detail }}
{% endfor %}
{%- if s.r.replay %}
Replay:

```
{{ s.r.replay }}
```
{% endif %}
{%- endfor %}
{%- else %}
All scenarios passed.
{% endif %}
Sizes are modelled: 1 GB = 10^9 bytes. Charts and the full backup tables are in `report.html`.
"""

REPORT_HTML = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · {% if passed %}PASS{% else %}FAIL{% endif %}</title>
<style>
  :root { --ink:#1b1b1f; --muted:#5f6368; --line:#e3e5e8; --brand:#0f6cbd; --soft:#f4f7fb;
          --bad:#c50f1f; --badsoft:#fdecee; --good:#0e7a0d; --goodsoft:#e7f4e4;
          --warn:#a86b00; --warnsoft:#fff4ce; }
  * { box-sizing: border-box; }
  body { margin:0; color:var(--ink); background:#fff;
         font:14.5px/1.5 "Segoe UI", system-ui, -apple-system, "Helvetica Neue", Arial, sans-serif; }
  main { max-width: 1120px; margin: 0 auto; padding: 32px 40px 48px; }
  header { border-bottom: 3px solid var(--brand); padding-bottom: 14px; margin-bottom: 22px;
           display: flex; align-items: flex-end; justify-content: space-between; gap: 20px; }
  header .kicker { color: var(--brand); font-weight: 600; letter-spacing: .06em;
                   text-transform: uppercase; font-size: 12px; }
  h1 { font-size: 28px; margin: 4px 0 2px; font-weight: 650; }
  header .sub { color: var(--muted); }
  .verdict { font-size: 26px; font-weight: 750; letter-spacing: .04em; padding: 8px 22px;
             border-radius: 8px; color: #fff; white-space: nowrap; }
  .verdict.pass { background: var(--good); } .verdict.fail { background: var(--bad); }
  .verdict small { display: block; font-size: 12px; font-weight: 500; letter-spacing: 0; opacity: .95; }
  h2 { font-size: 18px; margin: 34px 0 10px; font-weight: 650; }
  h3 { font-size: 14px; margin: 18px 0 6px; font-weight: 650; color: #3c4043;
       text-transform: uppercase; letter-spacing: .04em; }
  .inputs { display: flex; flex-wrap: wrap; gap: 8px 10px; margin: 0 0 8px; padding: 0; }
  .inputs div { background: var(--soft); border: 1px solid var(--line); border-radius: 6px;
                padding: 6px 12px; }
  .inputs dt { font-size: 11px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
  .inputs dd { margin: 0; font-weight: 600; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; font-size: 13px; }
  th, td { border: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
  thead th { background: var(--soft); font-weight: 600; white-space: nowrap; }
  td.num, th.num { text-align: right; white-space: nowrap; }
  a { color: var(--brand); text-decoration: none; } a:hover { text-decoration: underline; }
  .pill { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: 12px;
          font-weight: 600; white-space: nowrap; margin: 1px 2px 1px 0; }
  .pill.PASS, .pill.Succeeded { background: var(--goodsoft); color: var(--good); }
  .pill.FAIL, .pill.Failed, .pill.ERROR { background: var(--badsoft); color: var(--bad); }
  .pill.PartialSucceeded { background: var(--warnsoft); color: var(--warn); }
  .pill.Crashed { background: #f3d6da; color: #6b0a14; }
  .pill.Skipped, .pill.Deleted, .pill.Queued, .pill.Running { background: #edebe9; color: #484644; }
  .tag { display: inline-block; background: var(--soft); border: 1px solid var(--line);
         border-radius: 4px; padding: 0 6px; font-size: 12px; margin: 1px 2px 1px 0; color: #3c4043; }
  .meter { position: relative; height: 6px; background: #edebe9; border-radius: 3px;
           margin-top: 3px; min-width: 90px; }
  .meter span { position: absolute; left: 0; top: 0; bottom: 0; border-radius: 3px; background: var(--brand); }
  .meter.over span { background: var(--bad); }
  td.over { color: var(--bad); font-weight: 600; }
  section.scenario { border: 1px solid var(--line); border-radius: 10px; margin: 28px 0;
                     padding: 4px 22px 18px; border-top: 5px solid var(--good); }
  section.scenario.failed { border-top-color: var(--bad); }
  section.scenario h2 { margin-top: 14px; display: flex; gap: 12px; align-items: baseline; }
  .meta { color: var(--muted); font-size: 13px; }
  .meta code { font-size: 12.5px; }
  .desc { background: var(--soft); border-left: 4px solid var(--brand); padding: 10px 16px;
          border-radius: 0 6px 6px 0; margin: 12px 0; white-space: pre-line; }
  ul.checks { list-style: none; padding: 0; margin: 0; }
  ul.checks li { padding: 4px 10px; border-left: 4px solid var(--good); margin: 3px 0;
                 background: #fafcf9; }
  ul.checks li.bad { border-left-color: var(--bad); background: var(--badsoft); }
  ul.checks .detail { color: var(--muted); font-size: 13px; }
  ul.checks li.bad .detail { color: #7a0b14; }
  .mark { font-weight: 700; margin-right: 6px; }
  .mark.ok { color: var(--good); } .mark.no { color: var(--bad); }
  .replay { background: #1b1b1f; color: #f3f3f3; border-radius: 6px; padding: 10px 14px;
            font: 13px/1.45 ui-monospace, "Cascadia Mono", Consolas, monospace; overflow-x: auto;
            white-space: pre-wrap; word-break: break-all; }
  .replay .label { color: #9aa0a6; user-select: none; }
  .error { background: var(--badsoft); border: 1px solid #f1b5bc; border-radius: 6px;
           padding: 10px 14px; margin: 10px 0; }
  .error pre { margin: 8px 0 0; font-size: 12px; white-space: pre-wrap; }
  figure { margin: 10px 0 0; }
  figure img { width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; display: block; }
  figcaption { font-size: 12.5px; color: var(--muted); margin-top: 4px; }
  .swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px;
            vertical-align: -1px; margin: 0 4px 0 10px; }
  details { margin-top: 12px; }
  summary { cursor: pointer; color: var(--brand); font-weight: 600; font-size: 13px; }
  .msg { color: #3c4043; font-size: 12.5px; }
  .none { color: var(--muted); font-style: italic; }
  footer { margin-top: 30px; padding-top: 10px; border-top: 1px solid var(--line);
           font-size: 12px; color: var(--muted); }
  @media print {
    @page { size: A4; margin: 12mm; }
    body { font-size: 10pt; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
    main { max-width: none; padding: 0; }
    section.scenario { break-inside: avoid-page; }
    details { display: none; }
  }
</style>
</head>
<body>
<main>
<header>
  <div>
    <div class="kicker">Azure Stack Hub · Infrastructure Backup · simulator</div>
    <h1>{{ title }}</h1>
    <div class="sub">{{ total }} scenario{% if total != 1 %}s{% endif %}: {{ counts.passed }} passed, {{ counts.failed }} failed</div>
  </div>
  <div class="verdict {% if passed %}pass{% else %}fail{% endif %}">{% if passed %}PASS{% else %}FAIL{% endif %}
    <small>{{ counts.passed }} passed · {{ counts.failed }} failed</small></div>
</header>
{%- if run_info %}
<dl class="inputs" aria-label="Run">
{%- for k, v in run_info %}
  <div><dt>{{ k }}</dt><dd>{{ v }}</dd></div>
{%- endfor %}
</dl>
{%- endif %}

<section aria-label="Summary">
  <h2>Summary</h2>
  <table>
    <thead><tr><th>Scenario</th><th>Tags</th><th>Fidelity</th><th class="num">Seed</th>
      <th>Result</th><th class="num">Checks</th><th>Backups by status</th>
      <th class="num">Share peak / budget</th></tr></thead>
    <tbody>
    {%- for s in scenarios %}
      <tr><td><a href="#{{ s.anchor }}">{{ s.name }}</a></td>
        <td>{% for t in s.tags %}<span class="tag">{{ t }}</span>{% endfor %}</td>
        <td>{{ s.r.fidelity }}</td><td class="num">{{ s.r.seed }}</td>
        <td>{% if s.r.error %}<span class="pill ERROR">ERROR</span>{% elif s.r.passed %}<span class="pill PASS">PASS</span>{% else %}<span class="pill FAIL">FAIL</span>{% endif %}</td>
        <td class="num">{{ s.passed_checks|length }}/{{ s.n_checks }}</td>
        <td>{% for k, v in s.counts %}<span class="pill {{ k }}">{{ k }} {{ v }}</span>{% else %}<span class="none">none</span>{% endfor %}</td>
        <td class="num{% if s.share.over %} over{% endif %}">{{ s.share.peak }} / {{ s.share.budget }}{% if s.share.pct_text %} · {{ s.share.pct_text }}
          <div class="meter{% if s.share.over %} over{% endif %}"><span style="width: {{ '%.1f'|format(s.share.bar) }}%"></span></div>{% endif %}</td></tr>
    {%- endfor %}
    </tbody>
  </table>
</section>
{% for s in scenarios %}
<section class="scenario{% if not s.r.passed %} failed{% endif %}" id="{{ s.anchor }}">
  <h2>{% if s.r.error %}<span class="pill ERROR">ERROR</span>{% elif s.r.passed %}<span class="pill PASS">PASS</span>{% else %}<span class="pill FAIL">FAIL</span>{% endif %} {{ s.name }}</h2>
  <div class="meta"><code>{{ s.r.path }}</code>{% for t in s.tags %} <span class="tag">{{ t }}</span>{% endfor %}
    · seed {{ s.r.seed }} · {{ s.r.fidelity }} · {{ s.r.days }} virtual days
    {%- if s.r.summary.hub %} · {{ s.r.summary.hub }}{% endif %}
    {%- if s.r.summary.identity %} · {{ s.r.summary.identity }}{% endif %}
    {%- if s.r.seconds is number %} · {{ s.r.seconds }} s wall{% endif %}</div>
  {%- if s.description %}
  <div class="desc">{{ s.description }}</div>
  {%- endif %}
  {%- if s.r.error %}
  <div class="error"><strong>The scenario did not run to the end:</strong> {{ s.r.error }}
    {%- if s.traceback %}<pre>{{ s.traceback }}</pre>{% endif %}</div>
  {%- endif %}

  <h3>Checks · {{ s.passed_checks|length }} of {{ s.n_checks }} passed</h3>
  <ul class="checks">
  {%- for c in s.failed_checks %}
    <li class="bad"><span class="mark no">✗</span><strong>{{ c.name }}</strong> <span class="detail">{{ c.detail }}</span></li>
  {%- endfor %}
  {%- for c in s.passed_checks %}
    <li><span class="mark ok">✓</span>{{ c.name }} <span class="detail">{{ c.detail }}</span></li>
  {%- endfor %}
  {%- if not s.n_checks %}
    <li class="none">no checks</li>
  {%- endif %}
  </ul>
  {%- if not s.r.passed and s.r.replay %}
  <h3>Replay</h3>
  <div class="replay"><span class="label">$ </span>{{ s.r.replay }}</div>
  {%- endif %}

  <figure>
    <img alt="Timeline of {{ s.name }}: backups by status, faults and alerts over the run's virtual days"
         src="data:image/png;base64,{{ s.timeline_b64 }}">
    <figcaption>Backups from start to finish, coloured by status
      {%- for k, c in statuses.items() if k in ("Succeeded", "PartialSucceeded", "Failed", "Skipped", "Crashed") %}<span class="swatch" style="background: {{ c }}"></span>{{ k }}{% endfor %}.
      Shaded spans: faults while they last; ▼ alert raised, ▲ alert cleared.</figcaption>
  </figure>
  <figure>
    <img alt="Share occupancy of {{ s.name }} against the budget{% if s.show_capacity %} and the capacity{% endif %}"
         src="data:image/png;base64,{{ s.occupancy_b64 }}">
    <figcaption>Bytes on the share (modelled, 1 GB = 10<sup>9</sup> B). Dashed: budget
      {{ s.share.budget }}; peak {{ s.share.peak }}{% if s.share.pct_text %} ({{ s.share.pct_text }} of the budget){% endif %}
      {%- if s.show_capacity %}. Red: the share's capacity{% endif %}.</figcaption>
  </figure>

  <h3>Backups · {{ s.backups|length }}</h3>
  {%- if s.backups %}
  <table>
    <thead><tr><th class="num">#</th><th>Status</th><th>Trigger</th><th>Created (UTC)</th>
      <th class="num">Time taken</th><th class="num">Size</th><th>Category / message</th></tr></thead>
    <tbody>
    {%- for b in s.backups %}
      <tr><td class="num">{{ loop.index }}</td>
        <td><span class="pill {{ b.status }}">{{ b.status }}</span>{% if b.crashed %}<span class="pill Crashed">crashed</span>{% endif %}</td>
        <td>{{ b.trigger }}</td><td>{{ b.created }} <span class="msg">{{ b.started_day }}</span></td>
        <td class="num">{{ b.taken }}</td><td class="num">{{ b.size }}</td>
        <td>{% if b.category %}<strong>{{ b.category }}</strong>{% endif %}{% if b.message %} <span class="msg">{{ b.message }}</span>{% endif %}</td></tr>
    {%- endfor %}
    </tbody>
  </table>
  {%- else %}
  <p class="none">No backups.</p>
  {%- endif %}
  {%- if s.alerts %}
  <h3>Alerts</h3>
  <table>
    <thead><tr><th>Category</th><th>Raised (UTC)</th><th>Cleared (UTC)</th><th>Message</th></tr></thead>
    <tbody>
    {%- for a in s.alerts %}
      <tr><td><strong>{{ a.category }}</strong></td><td>{{ a.raisedDateTime|when }}</td>
        <td>{% if a.clearedDateTime %}{{ a.clearedDateTime|when }}{% else %}<span class="pill FAIL">active</span>{% endif %}</td>
        <td class="msg">{{ a.message }}</td></tr>
    {%- endfor %}
    </tbody>
  </table>
  {%- endif %}
  {%- if s.recoveries %}
  <h3>Recoveries</h3>
  <table>
    <thead><tr><th>Name</th><th>Outcome</th><th>Details</th></tr></thead>
    <tbody>
    {%- for name, rec in s.recoveries %}
      <tr><td>{{ name }}</td><td>{{ rec.outcome }}</td>
        <td class="msg">{% for k, v in rec.items() if k != "outcome" and v %}{{ k }}: {{ v }}{% if not loop.last %}; {% endif %}{% endfor %}</td></tr>
    {%- endfor %}
    </tbody>
  </table>
  {%- endif %}
  {%- if s.events %}
  <details>
    <summary>Event log · {{ s.events|length }} events</summary>
    <table>
      <thead><tr><th>Virtual</th><th>At (UTC)</th><th>Event</th><th>Fields</th></tr></thead>
      <tbody>
      {%- for e in s.events %}
        <tr><td class="num">{{ e.day }}</td><td>{{ e.at }}</td><td>{{ e.event }}</td><td class="msg">{{ e.fields }}</td></tr>
      {%- endfor %}
      </tbody>
    </table>
  </details>
  {%- endif %}
</section>
{% endfor %}
<footer>
  Virtual time: day 0 is the start of each run. Sizes are modelled: 1 GB = 10<sup>9</sup> bytes.
  Budget = per-backup size × (24 / frequency hours) × retention days. Generated by <code>ibs run</code>.
</footer>
</main>
</body>
</html>
"""

_TEMPLATES = {"report.md": REPORT_MD, "report.html": REPORT_HTML}


def environment(html: bool) -> jinja2.Environment:
    from ibs.reports.scenario_report.render import when

    env = jinja2.Environment(loader=jinja2.DictLoader(_TEMPLATES), autoescape=html,
                             keep_trailing_newline=True, undefined=jinja2.ChainableUndefined)
    env.filters["when"] = when
    return env
