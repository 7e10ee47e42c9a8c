"""The operator's page: server-rendered HTML, one stylesheet, one script; nothing from a CDN.

Auth: the page itself is public (it holds no data). Its script asks for the API token once,
keeps it in ``sessionStorage`` (gone when the tab closes) and sends it as a bearer header on
every API call, like any other client. No cookie, so no cross-site request can use it; the
Content-Security-Policy allows only this origin's script and style.

One module over 400 lines on purpose: the markup, the stylesheet and the script name each other's
ids and classes, and are checked together when read side by side.
"""

from __future__ import annotations

from collections.abc import Callable

from jinja2 import Environment

from ibs.engine.rp.arm import API_VERSIONS, LOCATION, NAMESPACE
from ibs.engine.settings import (
    DEFAULT_FREQUENCY_HOURS,
    DEFAULT_RETENTION_DAYS,
    FREQUENCY_HOURS,
    RETENTION_DAYS,
)

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")

HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Infrastructure backup</title>
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='4' fill='%230f62fe'/%3E%3C/svg%3E">
<link rel="stylesheet" href="/static/app.css">
<script src="/static/app.js" defer></script>
</head>
<body data-api="{{ api }}" data-api-version="{{ version }}">
<header class="bar">
  <div class="brand"><span class="logo" aria-hidden="true"></span>
    <div><h1>Infrastructure backup</h1>
    <p class="sub">Backup Resource Provider &middot; location <b>{{ location }}</b></p></div></div>
  <div class="bar-right"><span id="conn" class="pill muted">not connected</span>
    <button id="sign-out" class="ghost" hidden>Sign out</button></div>
</header>

<main>
<section id="login" class="card narrow" hidden>
  <h2>Connect</h2>
  <p class="hint">Enter the API token <code>ibs serve-rp</code> printed on its first start (or
  <code>IBS_RP_TOKEN</code>). It is kept in this tab only.</p>
  <form id="login-form" class="row">
    <input id="token-input" type="password" autocomplete="off" placeholder="API token" required>
    <button id="token-submit" type="submit" class="primary">Connect</button>
  </form>
  <p id="login-error" class="error" hidden></p>
</section>

<div id="app" hidden>
<div id="message" class="toast" hidden></div>

<section class="card" id="alerts-card">
  <h2>Alerts</h2>
  <div id="alerts"><p class="ok-line">No active alerts.</p></div>
</section>

<div class="grid">
<section class="card">
  <div class="card-head"><h2>Backup location</h2>
  <span id="state-pill" class="pill muted">&hellip;</span></div>
  <dl class="facts">
    <dt>Path</dt><dd id="s-path">&ndash;</dd>
    <dt>User name</dt><dd id="s-user">&ndash;</dd>
    <dt>Frequency</dt><dd id="s-frequency">&ndash;</dd>
    <dt>Retention</dt><dd id="s-retention">&ndash;</dd>
    <dt>Scheduler</dt><dd id="s-scheduler">&ndash;</dd>
    <dt>Certificate thumbprint</dt><dd id="s-thumbprint" class="mono">&ndash;</dd>
    <dt>Available capacity</dt><dd id="s-capacity">&ndash;</dd>
    <dt>Last backup</dt><dd id="s-last">&ndash;</dd>
    <dt>Next backup</dt><dd id="s-next">&ndash;</dd>
    <dt>Role sources</dt><dd id="s-sources">&ndash;</dd>
  </dl>
</section>

<section class="card">
  <h2>Change settings</h2>
  <form id="settings-form" class="form" autocomplete="off">
    <label>Storage path<input id="f-path" name="path" placeholder="\\\\server\\share\\folder  or  /srv/backups"></label>
    <div class="two">
      <label>User name<input id="f-user" name="userName" placeholder="DOMAIN\\user"></label>
      <label>Password<input id="f-password" name="password" type="password"
        placeholder="unchanged if empty" autocomplete="new-password"></label>
    </div>
    <label>Encryption certificate (.cer)<input id="f-cert" name="cert" type="file" accept=".cer,.crt,.pem"></label>
    <div class="two">
      <label>Frequency (hours, {{ freq[0] }}&ndash;{{ freq[1] }})<input id="f-frequency" type="number"
        min="{{ freq[0] }}" max="{{ freq[1] }}" value="{{ freq_default }}" required></label>
      <label>Retention (days, {{ ret[0] }}&ndash;{{ ret[1] }})<input id="f-retention" type="number"
        min="{{ ret[0] }}" max="{{ ret[1] }}" value="{{ ret_default }}" required></label>
    </div>
    <label class="check"><input id="f-scheduler" type="checkbox" checked> Run scheduled backups</label>
    <label>Role sources <span class="hint">(one <code>ROLE=/folder</code> a line; empty keeps them)</span>
      <textarea id="f-sources" rows="3" spellcheck="false"></textarea></label>
    <div class="actions"><button id="save-settings" type="submit" class="primary">Save settings</button></div>
  </form>
</section>
</div>

<section class="card" id="backup-card" hidden>
  <div class="card-head"><h2>Backup</h2><a href="#" id="backup-close" class="small">close</a></div>
  <p id="backup-error" class="error" hidden></p>
  <dl class="facts" id="backup-facts">
    <dt>Id</dt><dd id="b-id" class="mono">&ndash;</dd>
    <dt>Status</dt><dd id="b-status">&ndash;</dd>
    <dt>Created</dt><dd id="b-created">&ndash;</dd>
    <dt>Trigger</dt><dd id="b-trigger">&ndash;</dd>
    <dt>Time taken</dt><dd id="b-taken">&ndash;</dd>
    <dt>Size</dt><dd id="b-size">&ndash;</dd>
    <dt>Roles</dt><dd id="b-roles">&ndash;</dd>
  </dl>
</section>

<section class="card">
  <div class="card-head"><h2>Backups</h2>
    <form id="find-form" class="row find">
      <input id="find-id" placeholder="backup id or its start" autocomplete="off" spellcheck="false"
        aria-label="backup id or a unique start of it">
      <button id="find-submit" type="submit">Show</button></form>
    <button id="backup-now" class="primary">Back up now</button></div>
  <table class="backups">
    <thead><tr><th>Status</th><th>Created</th><th>Trigger</th><th>Time taken</th><th>Size</th>
      <th>Roles</th><th>Id</th></tr></thead>
    <tbody id="backups"><tr class="empty"><td colspan="7">No backups yet.</td></tr></tbody>
  </table>
</section>
</div>
</main>
<footer>ibs &middot; {{ namespace }} &middot; api-version {{ version }} &middot;
<a href="/openapi.json">OpenAPI</a></footer>
</body>
</html>
"""

CSS = """
:root { --bg:#f4f6f9; --card:#fff; --ink:#1d2733; --muted:#64748b; --line:#e3e8ef;
  --brand:#0f62fe; --brand-ink:#fff; --ok:#13795b; --ok-bg:#e3f5ec; --bad:#b42318; --bad-bg:#fdecea;
  --warn:#8a5a00; --warn-bg:#fff4d6; --run:#0f62fe; --run-bg:#e6efff; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color:var(--ink); background:var(--bg); }
.bar { display:flex; justify-content:space-between; align-items:center; padding:14px 28px;
  background:#0b1f3a; color:#fff; }
.brand { display:flex; gap:12px; align-items:center; }
.logo { width:34px; height:34px; border-radius:8px;
  background:linear-gradient(135deg,#4c8dff,#0f62fe 60%,#003a9e); box-shadow:inset 0 0 0 2px #ffffff30; }
h1 { font-size:18px; margin:0; font-weight:600; }
.sub { margin:0; color:#b9c6d8; font-size:12.5px; }
.bar-right { display:flex; gap:10px; align-items:center; }
main { max-width:1180px; margin:24px auto; padding:0 20px; display:flex; flex-direction:column; gap:20px; }
#app:not([hidden]) { display:flex; flex-direction:column; gap:20px; }
.grid { display:grid; grid-template-columns: 1fr 1fr; gap:20px; }
@media (max-width: 900px) { .grid { grid-template-columns:1fr; } }
.card { background:var(--card); border:1px solid var(--line); border-radius:12px; padding:18px 22px;
  box-shadow:0 1px 2px #0f172a0d; }
.card.narrow { max-width:520px; margin:40px auto; }
.card h2 { font-size:15px; margin:0 0 12px; font-weight:600; }
.card-head { display:flex; justify-content:space-between; align-items:center; margin-bottom:12px; }
.card-head h2 { margin:0; }
.facts { display:grid; grid-template-columns: 180px 1fr; gap:8px 14px; margin:0; }
.facts dt { color:var(--muted); }
.facts dd { margin:0; word-break:break-all; }
.mono, code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size:12.5px; }
.form { display:flex; flex-direction:column; gap:12px; }
.form label { display:flex; flex-direction:column; gap:4px; color:var(--muted); font-size:12.5px; }
.form label.check { flex-direction:row; align-items:center; gap:8px; color:var(--ink); font-size:14px; }
.two { display:grid; grid-template-columns:1fr 1fr; gap:12px; }
input, textarea { font:inherit; color:var(--ink); padding:8px 10px; border:1px solid #cbd5e1;
  border-radius:8px; background:#fff; }
input[type=file] { padding:6px; }
input:focus, textarea:focus { outline:2px solid #0f62fe55; border-color:var(--brand); }
textarea { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size:12.5px; resize:vertical; }
.row { display:flex; gap:10px; } .row input { flex:1; }
.actions { display:flex; justify-content:flex-end; }
button { font:inherit; border-radius:8px; padding:8px 16px; cursor:pointer; border:1px solid transparent; }
button.primary { background:var(--brand); color:var(--brand-ink); font-weight:600; }
button.primary:hover { background:#0050d8; }
button:disabled { opacity:.55; cursor:default; }
button.ghost { background:transparent; color:#fff; border-color:#ffffff55; }
.pill { display:inline-block; padding:2px 10px; border-radius:999px; font-size:12px; font-weight:600;
  background:#eef2f7; color:var(--muted); white-space:nowrap; }
.bar .pill { background:#ffffff1c; color:#dbe6f5; }
.pill.ok, .st-Succeeded { background:var(--ok-bg); color:var(--ok); }
.pill.bad, .st-Failed { background:var(--bad-bg); color:var(--bad); }
.st-PartialSucceeded, .st-Skipped, .pill.warn { background:var(--warn-bg); color:var(--warn); }
.st-Running, .st-Queued { background:var(--run-bg); color:var(--run); }
.st-Deleted { background:#eef2f7; color:var(--muted); text-decoration:line-through; }
table.backups { width:100%; border-collapse:collapse; }
.backups th { text-align:left; font-weight:600; color:var(--muted); font-size:12px; text-transform:uppercase;
  letter-spacing:.03em; border-bottom:1px solid var(--line); padding:8px 10px; }
.backups td { border-bottom:1px solid var(--line); padding:10px; vertical-align:top; }
.backups td:first-child { max-width:320px; }
.backups tr:last-child td { border-bottom:0; }
.backups tr.empty td { color:var(--muted); text-align:center; padding:24px; }
.roles { display:flex; flex-wrap:wrap; gap:4px; }
.roles .pill { font-weight:500; }
.progress { height:6px; width:140px; background:var(--run-bg); border-radius:99px; margin-top:6px; overflow:hidden; }
.progress > span { display:block; height:100%; background:var(--run); transition:width .4s; }
.small { font-size:12px; color:var(--muted); }
.alert { border-left:4px solid var(--bad); background:var(--bad-bg); padding:10px 14px; border-radius:8px;
  margin-bottom:10px; }
.alert h3 { margin:0 0 4px; font-size:14px; color:var(--bad); }
.alert p { margin:2px 0; }
.alert .rem { color:var(--ink); }
.ok-line { margin:0; color:var(--ok); }
.ok-line::before { content:"\\2714  "; }
.toast { padding:10px 14px; border-radius:8px; background:var(--ok-bg); color:var(--ok); }
.toast.bad, .error { background:var(--bad-bg); color:var(--bad); padding:10px 14px; border-radius:8px; }
.hint { color:var(--muted); font-size:12.5px; }
#backup-facts[hidden] { display:none; }  /* .facts is a grid, which would override hidden */
.find input { width:230px; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size:12.5px; }
.find button { background:#eef2f7; color:var(--ink); }
.backups a, .toast a { color:inherit; }
footer { text-align:center; color:var(--muted); font-size:12px; padding:10px 0 30px; }
footer a { color:var(--muted); }
"""

JS = r"""
"use strict";
const body = document.body;
const API = body.dataset.api;
const VERSION = body.dataset.apiVersion;
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("ibs-rp-token");
let timer = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else if (k === "style") node.style.cssText = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
  return node;
}

class Unauthorized extends Error {}

async function call(method, path, payload) {
  const url = path.startsWith("http") ? path : `${API}${path}${path.includes("?") ? "&" : "?"}api-version=${VERSION}`;
  const init = {method, headers: {"Authorization": `Bearer ${token}`}};
  if (payload !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(payload);
  }
  const r = await fetch(url, init);
  if (r.status === 401) throw new Unauthorized();
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  return {status: r.status, data, headers: r.headers};
}

async function longRunning(method, path, payload, onTick) {
  const first = await call(method, path, payload);
  if (first.status !== 202) return first;
  // Polled on this page's own origin: the provider's --base-url may name another host.
  const polled = new URL(first.headers.get("Location"), window.location.href);
  const location = window.location.origin + polled.pathname + polled.search;
  for (;;) {
    await new Promise((ok) => setTimeout(ok, 700));
    if (onTick) onTick();
    const r = await call("GET", location);
    if (r.status !== 202) return r;
  }
}

function errorText(r) {
  return (r.data && r.data.error) ? r.data.error.message : `HTTP ${r.status}`;
}

function say(text, bad, ...more) {
  const m = $("message");
  m.replaceChildren(text, ...more); m.className = bad ? "toast bad" : "toast"; m.hidden = false;
  clearTimeout(say.t);
  if (!bad) say.t = setTimeout(() => { m.hidden = true; }, 6000);
}

const when = (s) => s ? new Date(s).toLocaleString() : "–";
function bytes(n) {
  if (!n) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"]; let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return i ? `${n.toFixed(1)} ${units[i]}` : `${n} B`;
}
function duration(iso) {
  if (!iso) return "–";
  const m = /PT(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?/.exec(iso);
  if (!m) return iso;
  const parts = [];
  if (m[1]) parts.push(`${m[1]} h`); if (m[2]) parts.push(`${m[2]} min`);
  if (m[3]) parts.push(`${parseFloat(m[3]).toFixed(parts.length ? 0 : 1)} s`);
  return parts.join(" ") || "0 s";
}

function renderLocation(loc) {
  const s = loc.properties.externalStoreDefault;
  const set = (id, v) => { $(id).textContent = (v === null || v === undefined || v === "") ? "–" : v; };
  set("s-path", s.path); set("s-user", s.userName);
  set("s-frequency", `every ${s.backupFrequencyInHours} h`);
  set("s-retention", `${s.backupRetentionPeriodInDays} days`);
  set("s-scheduler", s.isBackupSchedulerEnabled ? "enabled" : "disabled");
  set("s-thumbprint", s.encryptionCertThumbprint);
  set("s-capacity", s.availableCapacity ?? (s.path ? "unknown (share not reachable)" : null));
  set("s-last", s.lastBackupTime && when(s.lastBackupTime));
  set("s-next", s.nextBackupTime && when(s.nextBackupTime));
  const src = Object.entries(s.sources || {});
  set("s-sources", src.map(([r, f]) => `${r} = ${f}`).join("\n"));
  $("s-sources").style.whiteSpace = "pre-line";
  const enabled = s.path && s.encryptionCertThumbprint;
  const pill = $("state-pill");
  pill.textContent = enabled ? "enabled" : "not configured";
  pill.className = enabled ? "pill ok" : "pill warn";
  if (!renderLocation.filled) {  // fill the form once, never over what the operator is typing
    renderLocation.filled = true;
    $("f-path").value = s.path || ""; $("f-user").value = s.userName || "";
    $("f-frequency").value = s.backupFrequencyInHours; $("f-retention").value = s.backupRetentionPeriodInDays;
    $("f-scheduler").checked = s.isBackupSchedulerEnabled;
    $("f-sources").value = src.map(([r, f]) => `${r}=${f}`).join("\n");
  }
}

function renderAlerts(list) {
  const box = $("alerts");
  box.replaceChildren();
  if (!list.length) { box.append(el("p", {class: "ok-line"}, "No active alerts.")); return; }
  for (const a of list) {
    box.append(el("div", {class: "alert", "data-category": a.category},
      el("h3", {}, a.title),
      el("p", {}, a.message),
      el("p", {class: "rem"}, el("b", {}, "Remediation: "), a.remediation),
      el("p", {class: "small"}, `${a.category} · raised ${when(a.raisedDateTime)}` +
        (a.occurrences > 1 ? ` · ${a.occurrences} times` : ""))));
  }
}

function renderBackups(list) {
  const tb = $("backups");
  tb.replaceChildren();
  if (!list.length) { tb.append(el("tr", {class: "empty"}, el("td", {colspan: "7"}, "No backups yet."))); return false; }
  let running = false;
  for (const b of list) {
    const i = b.properties.backupInfo;
    const id = b.name.split("/").pop();
    const status = el("td", {}, el("span", {class: `pill st-${i.status}`}, i.status));
    if (i.status === "Running" || i.status === "Queued") {
      running = true;
      const pct = i.progress && i.progress.percent !== null ? i.progress.percent : 0;
      status.append(el("div", {class: "progress"}, el("span", {style: `width:${pct}%`})),
        el("div", {class: "small"}, i.progress ? `${pct}% · ${i.progress.role}` : "starting"));
    }
    if (i.error) status.append(el("div", {class: "small"}, i.error.message));
    const roles = el("div", {class: "roles"});
    for (const r of i.roleStatus || []) roles.append(el("span", {class: `pill st-${r.status}`}, `${r.roleName}: ${r.status}`));
    tb.append(el("tr", {"data-id": id, "data-status": i.status},
      status, el("td", {}, when(i.createdDateTime)), el("td", {}, i.trigger || "–"),
      el("td", {}, duration(i.timeTakenToCreate)), el("td", {}, bytes(i.sizeBytes)),
      el("td", {}, roles), el("td", {class: "mono"}, idLink(id))));
  }
  return running;
}

// Ids are shown as their first 8 characters, each a link to the backup's card with the whole id.
const idLink = (id) => el("a", {href: `#backup=${id}`, title: id}, id.slice(0, 8));

// The card of the backup the address names (#backup=ID): the whole id or a unique start of
// it, as typed into the find box or the address bar; the provider resolves it.
async function showBackup() {
  const m = /^#backup=([^&]*)$/.exec(window.location.hash);
  const card = $("backup-card");
  if (!m) { card.hidden = true; return; }
  const given = decodeURIComponent(m[1]).trim();
  const r = await call("GET", `/backups/${encodeURIComponent(given)}`);
  card.hidden = false;
  $("backup-error").hidden = r.status === 200;
  $("backup-facts").hidden = r.status !== 200;
  if (r.status !== 200) { $("backup-error").textContent = errorText(r); return; }
  const i = r.data.properties.backupInfo;
  $("b-id").textContent = r.data.name.split("/").pop();
  $("b-status").replaceChildren(el("span", {class: `pill st-${i.status}`}, i.status));
  $("b-created").textContent = when(i.createdDateTime);
  $("b-trigger").textContent = i.trigger || "–";
  $("b-taken").textContent = duration(i.timeTakenToCreate);
  $("b-size").textContent = bytes(i.sizeBytes);
  $("b-roles").textContent = (i.roleStatus || []).map((x) => `${x.roleName}: ${x.status}`).join(", ") || "–";
}

async function refresh() {
  clearTimeout(timer);
  let running = false;
  try {
    const [loc, backups, alerts] = await Promise.all([
      call("GET", ""), call("GET", "/backups"), call("GET", "/alerts")]);
    renderLocation(loc.data);
    running = renderBackups(backups.data.value);
    renderAlerts(alerts.data.value);
    $("backup-now").disabled = running || $("backup-now").dataset.busy === "1";
    $("conn").textContent = "connected"; $("conn").className = "pill ok";
  } catch (e) {
    if (e instanceof Unauthorized) { signOut("The token was not accepted."); return; }
    $("conn").textContent = "connection lost"; $("conn").className = "pill bad";
  }
  timer = setTimeout(refresh, running ? 1000 : 4000);
}

function showApp() {
  $("login").hidden = true; $("app").hidden = false; $("sign-out").hidden = false;
  refresh();
  showBackup().catch(lost);
}

function lost(e) {
  if (e instanceof Unauthorized) signOut("The token was not accepted."); else say(String(e), true);
}

function signOut(reason) {
  clearTimeout(timer);
  sessionStorage.removeItem("ibs-rp-token"); token = null;
  $("app").hidden = true; $("sign-out").hidden = true; $("login").hidden = false;
  $("conn").textContent = "not connected"; $("conn").className = "pill muted";
  const e = $("login-error");
  e.hidden = !reason; e.textContent = reason || "";
  $("token-input").focus();
}

function fileBase64(file) {
  return new Promise((ok, fail) => {
    const r = new FileReader();
    r.onload = () => {
      const b = new Uint8Array(r.result); let s = "";
      for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
      ok(btoa(s));
    };
    r.onerror = () => fail(r.error);
    r.readAsArrayBuffer(file);
  });
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  token = $("token-input").value.trim();
  try {
    await call("GET", "");
    sessionStorage.setItem("ibs-rp-token", token);
    $("token-input").value = "";
    showApp();
  } catch (e) {
    signOut(e instanceof Unauthorized ? "The token was not accepted." : "The provider cannot be reached.");
  }
});

$("sign-out").addEventListener("click", () => signOut(""));

window.addEventListener("hashchange", () => { if (token) showBackup().catch(lost); });
$("backup-close").addEventListener("click", (ev) => {
  ev.preventDefault();
  history.replaceState(null, "", window.location.pathname + window.location.search);
  showBackup();
});
$("find-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const given = $("find-id").value.trim();
  if (given) window.location.hash = `backup=${encodeURIComponent(given)}`;
});

$("settings-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const btn = $("save-settings"); btn.disabled = true;
  try {
    const store = {
      path: $("f-path").value.trim() || null,
      userName: $("f-user").value.trim(),
      backupFrequencyInHours: parseInt($("f-frequency").value, 10),
      backupRetentionPeriodInDays: parseInt($("f-retention").value, 10),
      isBackupSchedulerEnabled: $("f-scheduler").checked,
    };
    if ($("f-password").value) store.password = $("f-password").value;
    const file = $("f-cert").files[0];
    if (file) store.encryptionCertBase64 = await fileBase64(file);
    const lines = $("f-sources").value.split("\n").map((l) => l.trim()).filter(Boolean);
    if (lines.length) {
      store.sources = {};
      for (const l of lines) {
        const k = l.indexOf("=");
        if (k < 0) store.sources[l] = ""; else store.sources[l.slice(0, k).trim()] = l.slice(k + 1).trim();
      }
    }
    const r = await longRunning("PUT", "", {properties: {externalStoreDefault: store}});
    if (r.status === 200) {
      say("Settings saved.");
      $("f-password").value = ""; $("f-cert").value = "";
      renderLocation.filled = false;
      refresh();
    } else say(errorText(r), true);
  } catch (e) {
    if (e instanceof Unauthorized) signOut("The token was not accepted."); else say(String(e), true);
  } finally { btn.disabled = false; }
});

$("backup-now").addEventListener("click", async () => {
  const btn = $("backup-now"); btn.disabled = true; btn.dataset.busy = "1";
  try {
    const r = await longRunning("POST", "/createBackup", undefined, refresh);
    if (r.status === 200) {
      const i = r.data.properties.backupInfo;
      say("Backup ", i.status !== "Succeeded", idLink(r.data.name.split("/").pop()), `: ${i.status}`);
    } else say(errorText(r), true);
  } catch (e) {
    if (e instanceof Unauthorized) signOut("The token was not accepted."); else say(String(e), true);
  } finally { btn.dataset.busy = "0"; refresh(); }
});

if (token) showApp(); else signOut("");
"""

_env = Environment(autoescape=True)


def html() -> str:
    return _env.from_string(HTML).render(
        api=(f"/subscriptions/default/resourceGroups/system.{LOCATION}/providers/{NAMESPACE}"
             f"/backupLocations/{LOCATION}"),
        version=API_VERSIONS[0], location=LOCATION, namespace=NAMESPACE,
        freq=FREQUENCY_HOURS, ret=RETENTION_DAYS,
        freq_default=DEFAULT_FREQUENCY_HOURS, ret_default=DEFAULT_RETENTION_DAYS)


FILES: dict[str, Callable[[], tuple[str, bytes]]] = {
    "/": lambda: ("text/html; charset=utf-8", html().encode("utf-8")),
    "/static/app.css": lambda: ("text/css; charset=utf-8", CSS.encode("utf-8")),
    "/static/app.js": lambda: ("text/javascript; charset=utf-8", JS.encode("utf-8")),
}
