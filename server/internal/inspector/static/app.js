// standin inspector: hash-routed views over the REST API, refreshed on the
// server-sent events of /standin/v1/stream. No dependencies.
"use strict";
const $ = (sel, el = document) => el.querySelector(sel);
const main = () => $("#main");
let settings = { time_scale: 1, schedules: {} };
let current = null; // { name, params, render }
let seen = new Set(); // ids shown by the previous render, to flash new rows
const reports = {}; // the last receiver check report of each webhook

// h builds an element: h("a", {href: "#"}, "text", child…).
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat()) if (kid !== undefined && kid !== null) el.append(kid instanceof Node ? kid : String(kid));
  return el;
}
const state = (s) => h("span", { class: "state s-" + s }, s);
const when = (t) => t ? h("time", { datetime: t, title: t }, new Date(t).toLocaleString()) : "—";

async function api(path, opts) {
  const init = Object.assign({ headers: {} }, opts);
  if (init.body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(init.body); }
  const resp = await fetch(path, init);
  const text = await resp.text();
  let body;
  try { body = JSON.parse(text); } catch { body = { message: text }; }
  if (!resp.ok) throw new Error((body.code ? body.code + ": " : "") + (body.message || resp.status));
  return body;
}
function say(text, bad) {
  const m = $("#msg");
  if (m) { m.textContent = text; m.className = bad ? "err" : "muted"; }
}
function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? "?" + s : "";
}

// Durations: "360s" (protojson) to seconds, seconds to "6m", "1h 3m".
const secs = (d) => d ? parseFloat(d) : 0;
function human(s) {
  if (s === 0) return "0";
  if (s < 1) return Math.round(s * 1000) + " ms";
  if (s < 60) return (Math.round(s * 10) / 10) + " s";
  const d = Math.floor(s / 86400), hr = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60), r = Math.round(s % 60);
  return [d && d + "d", hr && hr + "h", m && m + "m", !d && r && r + "s"].filter(Boolean).join(" ");
}

// ---- views ----

const views = {
  async deliveries(p) {
    const [list, hooks] = await Promise.all([
      api("/standin/v1/deliveries" + query({ status: p.status, webhook_id: p.webhook_id, event: p.event, event_id: p.event_id, cursor: p.cursor, limit: 100 })),
      api("/v1/webhooks?limit=1000"),
    ]);
    const form = h("form", { class: "bar", "aria-label": "Filter deliveries", onsubmit: (e) => {
      e.preventDefault();
      const f = new FormData(e.target);
      location.hash = "#/deliveries" + query(Object.fromEntries(f));
    } },
      h("label", {}, "State", h("select", { name: "status" }, h("option", { value: "" }, "any"),
        ["pending", "retrying", "succeeded", "failed", "cancelled"].map((s) => h("option", { value: s, selected: p.status === s }, s)))),
      h("label", {}, "Webhook", h("select", { name: "webhook_id" }, h("option", { value: "" }, "any"),
        hooks.data.items.map((w) => h("option", { value: w.id, selected: p.webhook_id === w.id }, w.id + " — " + w.url)))),
      h("label", {}, "Event name", h("input", { name: "event", value: p.event || "", placeholder: "sync_end" })),
      p.event_id ? h("input", { type: "hidden", name: "event_id", value: p.event_id }) : null,
      h("button", { type: "submit" }, "Filter"));
    const items = list.data.items;
    const rows = items.map((d) => h("tr", { class: seen.size && !seen.has(d.id) ? "new" : null, "data-id": d.id },
      h("td", {}, h("a", { href: "#/deliveries/" + d.id }, h("code", {}, d.id))),
      h("td", {}, d.event), h("td", {}, h("code", {}, d.webhook_id)), h("td", {}, state(d.state)),
      h("td", {}, d.attempts), h("td", {}, d.last_status || (d.last_error ? "error" : "—")),
      h("td", {}, d.state === "retrying" ? when(d.next_attempt_at) : "—"), h("td", {}, when(d.created_at))));
    seen = new Set(items.map((d) => d.id));
    return [h("h2", {}, "Deliveries" + (p.event_id ? " of event " + p.event_id : "")), form,
      items.length ? h("table", {}, h("caption", { class: "muted" }, items.length + " newest" + (p.status ? " in state " + p.status : "") + (p.webhook_id ? " to " + p.webhook_id : "") + (p.event ? " of " + p.event : "") + ", updated live"),
        h("thead", {}, h("tr", {}, ["Delivery", "Event", "Webhook", "State", "Attempts", "Last status", "Next retry", "Created"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", { id: "rows" }, rows))
        : h("p", { class: "muted" }, "No deliveries yet. Emit an event from the Events page."),
      pager("#/deliveries", p, list.data.next_cursor)];
  },

  async delivery(p) {
    const { data } = await api("/standin/v1/deliveries/" + encodeURIComponent(p.id));
    const d = data.delivery, attempts = data.attempts || [];
    const open = d.state === "pending" || d.state === "retrying";
    let pretty = data.request_body;
    try { pretty = JSON.stringify(JSON.parse(data.request_body), null, 2); } catch {}
    const headers = data.request_headers || {};
    const act = async (what) => {
      try { await api("/standin/v1/deliveries/" + d.id + "/" + what, { method: "POST", body: {} }); say(what === "redeliver" ? "Redelivery queued." : "Delivery cancelled."); }
      catch (e) { say(e.message, true); }
    };
    return [
      h("h2", {}, "Delivery ", h("code", {}, d.id)),
      h("dl", { class: "kv" },
        h("dt", {}, "State"), h("dd", {}, state(d.state)),
        h("dt", {}, "Event"), h("dd", {}, d.event, " ", h("a", { href: "#/deliveries?event_id=" + d.event_id }, h("code", {}, d.event_id))),
        h("dt", {}, "Webhook"), h("dd", {}, h("a", { href: "#/deliveries?webhook_id=" + d.webhook_id }, h("code", {}, d.webhook_id))),
        h("dt", {}, "Profile"), h("dd", {}, d.profile),
        h("dt", {}, "Attempts"), h("dd", {}, d.attempts),
        h("dt", {}, "Next retry"), h("dd", {}, d.next_attempt_at ? when(d.next_attempt_at) : "—"),
        h("dt", {}, "Created"), h("dd", {}, when(d.created_at))),
      h("div", { class: "actions" },
        h("button", { type: "button", id: "redeliver", onclick: () => act("redeliver") }, "Redeliver"),
        h("button", { type: "button", id: "cancel", class: "secondary", disabled: !open, onclick: () => act("cancel") }, "Cancel retries")),
      h("p", { id: "msg", role: "status", "aria-live": "polite" }),
      h("h3", {}, "Timeline"), timeline(d, attempts),
      h("h3", {}, "Request"),
      Object.keys(headers).length ? headerTable(headers, "Request headers (latest attempt)") : h("p", { class: "muted" }, "Headers appear with the first attempt."),
      h("h4", {}, "Body"), h("pre", { tabindex: 0, "aria-label": "Request body, pretty-printed" }, pretty),
      h("details", {}, h("summary", {}, "Raw body (" + new TextEncoder().encode(data.request_body).length + " bytes, exactly as sent)"),
        h("pre", { tabindex: 0, "aria-label": "Raw request body" }, data.request_body)),
      h("h3", {}, "Attempts"),
      attempts.length ? attempts.map(attemptView) : h("p", { class: "muted" }, "No attempt yet."),
    ];
  },

  async events(p) {
    const [list, conns] = await Promise.all([
      api("/standin/v1/events" + query({ cursor: p.cursor, limit: 100 })),
      api("/standin/v1/connections?limit=1000").catch(() => ({ data: { items: [] } })),
    ]);
    const items = list.data.items;
    const emit = h("form", { class: "bar", "aria-label": "Emit an event", onsubmit: async (e) => {
      e.preventDefault();
      const f = Object.fromEntries(new FormData(e.target));
      try { const r = await api("/standin/v1/events", { method: "POST", body: { event: f.event, group_id: f.group_id || undefined } }); say("Emitted " + (r.data && r.data.id || "event") + " to " + (r.data && r.data.deliveries ? r.data.deliveries.length : 0) + " webhook(s)."); }
      catch (err) { say(err.message, true); }
    } },
      h("label", {}, "Event", h("input", { name: "event", required: true, value: "sync_end", list: "event-names" })),
      h("datalist", { id: "event-names" }, ["sync_start", "sync_end", "connection_successful", "connection_failure", "dbt_run_succeeded", "dbt_run_failed", "status"].map((n) => h("option", { value: n }))),
      h("label", {}, "Group id (optional)", h("input", { name: "group_id" })),
      h("button", { type: "submit", id: "emit" }, "Emit event"));
    const sync = h("form", { class: "bar", "aria-label": "Simulate a sync", onsubmit: async (e) => {
      e.preventDefault();
      const f = Object.fromEntries(new FormData(e.target));
      try { await api("/standin/v1/connections/" + encodeURIComponent(f.id) + "/sync", { method: "POST", body: { status: f.status } }); say("Sync started on " + f.id + "."); }
      catch (err) { say(err.message, true); }
    } },
      h("label", {}, "Connection", h("select", { name: "id", required: true }, conns.data.items.map((c) => h("option", { value: c.id }, c.id + " (" + (c.service || "") + ")")))),
      h("label", {}, "Outcome", h("select", { name: "status" }, ["SUCCESSFUL", "FAILURE", "FAILURE_WITH_TASK", "RESCHEDULED"].map((s) => h("option", { value: s }, s)))),
      h("button", { type: "submit", disabled: !conns.data.items.length }, "Simulate sync"));
    const rows = items.map((ev) => h("tr", { class: seen.size && !seen.has(ev.id) ? "new" : null },
      h("td", {}, h("a", { href: "#/deliveries?event_id=" + ev.id }, h("code", {}, ev.id))),
      h("td", {}, ev.event), h("td", {}, ev.group_id || "—"), h("td", {}, when(ev.created_at))));
    seen = new Set(items.map((e) => e.id));
    return [h("h2", {}, "Events"), emit, sync, h("p", { id: "msg", role: "status", "aria-live": "polite" }),
      items.length ? h("table", {}, h("thead", {}, h("tr", {}, ["Event", "Name", "Group", "Created"].map((c) => h("th", { scope: "col" }, c)))), h("tbody", {}, rows))
        : h("p", { class: "muted" }, "No events yet."),
      pager("#/events", p, list.data.next_cursor)];
  },

  async webhooks() {
    const [hooks, recent] = await Promise.all([api("/v1/webhooks?limit=1000"), api("/standin/v1/deliveries?limit=500")]);
    const last = {};
    for (const d of recent.data.items) if (!last[d.webhook_id]) last[d.webhook_id] = d;
    const check = async (id, out, btn) => {
      btn.disabled = true; out.replaceChildren(h("p", { class: "muted" }, "Running the receiver check…"));
      try { reports[id] = (await api("/standin/v1/checks", { method: "POST", body: { webhook_id: id } })).data; out.replaceChildren(reportView(reports[id])); }
      catch (e) { out.replaceChildren(h("p", { class: "err" }, e.message)); }
      btn.disabled = false;
    };
    const items = hooks.data.items;
    return [h("h2", {}, "Webhooks"), items.length ? items.map((w) => {
      const health = w.disabled_reason ? "deactivated" : w.active ? "active" : "inactive";
      const out = h("div", { "aria-live": "polite" }, reports[w.id] ? reportView(reports[w.id]) : null);
      const btn = h("button", { type: "button", class: "secondary", onclick: () => check(w.id, out, btn) }, "Run receiver check");
      const l = last[w.id];
      return h("section", { class: "attempt", "aria-label": "Webhook " + w.id },
        h("h3", {}, h("code", {}, w.id), " ", state(health)),
        h("dl", { class: "kv" },
          h("dt", {}, "URL"), h("dd", {}, h("code", {}, w.url)),
          h("dt", {}, "Type"), h("dd", {}, w.type + (w.group_id ? " (" + w.group_id + ")" : "")),
          h("dt", {}, "Events"), h("dd", {}, (w.events || []).join(", ") || "—"),
          h("dt", {}, "Profile"), h("dd", {}, w.profile || "fivetran"),
          w.disabled_reason ? [h("dt", {}, "Deactivated"), h("dd", { class: "err" }, w.disabled_reason)] : null,
          h("dt", {}, "Last delivery"), h("dd", {}, l ? [state(l.state), " ", h("a", { href: "#/deliveries/" + l.id }, l.event), " ", when(l.updated_at)] : "—")),
        h("div", { class: "actions" }, h("a", { href: "#/deliveries?webhook_id=" + w.id }, "Deliveries"), btn), out);
    }) : h("p", { class: "muted" }, "No webhooks. Create one with POST /v1/webhooks/account or `standin webhooks create`.")];
  },
};

// pager links to the newest page and to the next (older) one.
function pager(base, p, next) {
  const newest = Object.assign({}, p, { cursor: "" });
  return h("nav", { class: "actions", "aria-label": "Pagination" },
    p.cursor ? h("a", { href: base + query(newest) }, "← Newest") : null,
    next ? h("a", { href: base + query(Object.assign({}, p, { cursor: next })), rel: "next" }, "Older →") : null);
}

function headerTable(headers, caption) {
  return h("table", {}, h("caption", { class: "muted" }, caption),
    h("tbody", {}, Object.keys(headers).sort().map((k) => h("tr", { class: /signature|authorization/i.test(k) ? "sig" : null },
      h("th", { scope: "row" }, k), h("td", {}, h("code", {}, headers[k]))))));
}

function attemptView(a) {
  return h("section", { class: "attempt", "aria-label": "Attempt " + a.number },
    h("h4", {}, "Attempt " + a.number + (a.manual ? " (redelivery)" : ""), " ", state(a.succeeded ? "succeeded" : "failed")),
    h("dl", { class: "kv" },
      h("dt", {}, "Started"), h("dd", {}, when(a.started_at)),
      h("dt", {}, "Planned at"), h("dd", {}, a.manual ? "outside the schedule" : "+" + human(secs(a.emulated_delay)) + " emulated"),
      h("dt", {}, "Status"), h("dd", {}, a.status || "no response"),
      h("dt", {}, "Latency"), h("dd", {}, human(secs(a.latency))),
      a.fault ? [h("dt", {}, "Fault"), h("dd", {}, a.fault + " (asked on purpose)")] : null,
      a.error ? [h("dt", {}, "Error"), h("dd", { class: "err" }, a.error)] : null),
    a.request_headers ? h("details", {}, h("summary", {}, "Request headers"), headerTable(a.request_headers, "Sent")) : null,
    a.response_headers ? h("details", {}, h("summary", {}, "Response headers"), headerTable(a.response_headers, "Received")) : null,
    a.response_excerpt ? [h("h5", {}, "Response body (excerpt)"), h("pre", { tabindex: 0 }, a.response_excerpt)] : null);
}

function reportView(r) {
  return h("div", {}, h("p", {}, `Receiver check of ${r.url}: ${r.summary.pass} pass, ${r.summary.warn} warn, ${r.summary.fail} fail, ${r.summary.skipped} skipped (${Math.round(r.wall_time_ms)} ms).`),
    h("table", {}, h("thead", {}, h("tr", {}, ["Probe", "Verdict", "Reason"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, r.probes.map((p) => h("tr", {}, h("td", {}, h("code", {}, p.id)), h("td", {}, state(p.verdict)), h("td", {}, p.reason))))));
}

// timeline draws the planned retry schedule (emulated offsets) against when
// each attempt really happened (converted to emulated time with the time
// scale), and the next retry's due time. The x axis is a square-root scale
// so that the first minutes and the last hours both stay readable.
function timeline(d, attempts) {
  const scale = settings.time_scale || 1;
  const sched = settings.schedules[d.profile] || [];
  const first = d.first_attempt_at ? Date.parse(d.first_attempt_at) : null;
  if (first === null) return h("p", { class: "muted" }, "The schedule starts with the first attempt.");
  const emu = (t) => Math.max(0, (Date.parse(t) - first) / 1000 * scale);
  const scheduled = attempts.filter((a) => !a.manual);
  const actual = attempts.map((a) => ({ n: a.number, t: emu(a.started_at), ok: a.succeeded, manual: a.manual, planned: secs(a.emulated_delay) }));
  const next = d.next_attempt_at ? emu(d.next_attempt_at) : null;
  const planned = sched.slice(0, Math.max(scheduled.length + (next !== null ? 1 : 0), 1));
  const tmax = Math.max(1, ...planned, ...actual.map((a) => a.t), next || 0) * 1.05;
  const W = 900, L = 70, R = 90, x = (t) => L + Math.sqrt(t / tmax) * (W - L - R);
  const rows = { planned: 40, actual: 90 };
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  const s = (tag, attrs, text) => {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (text !== undefined) el.textContent = text;
    svg.append(el); return el;
  };
  svg.setAttribute("viewBox", `0 0 ${W} 150`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-labelledby", "tl-title");
  s("title", { id: "tl-title" }, `Attempts of delivery ${d.id}: planned emulated offsets ${planned.map(human).join(", ")}; actual ${actual.map((a) => human(a.t)).join(", ") || "none"}` + (next !== null ? `; next retry due at +${human(next)}` : ""));
  for (const [name, y] of Object.entries(rows)) {
    s("text", { x: 4, y: y + 4, "font-size": 13, fill: "#1b1f24" }, name);
    s("line", { x1: L, x2: W - R, y1: y, y2: y, stroke: "#d0d7de" });
  }
  for (const t of planned) {
    s("line", { x1: x(t), x2: x(t), y1: rows.planned - 9, y2: rows.planned + 9, stroke: "#4d5561", "stroke-width": 2 });
    s("text", { x: x(t), y: rows.planned - 14, "font-size": 13, "text-anchor": "middle", fill: "#4d5561" }, "+" + human(t));
  }
  for (const a of actual) {
    const fill = a.ok ? "#116329" : "#a40e26";
    if (a.manual) s("rect", { x: x(a.t) - 6, y: rows.actual - 6, width: 12, height: 12, fill });
    else {
      s("line", { x1: x(a.planned), x2: x(a.t), y1: rows.planned + 9, y2: rows.actual - 7, stroke: "#8c959f", "stroke-dasharray": "3 3" });
      s("circle", { cx: x(a.t), cy: rows.actual, r: 6, fill });
    }
    s("text", { x: x(a.t), y: rows.actual + 22, "font-size": 13, "text-anchor": "middle", fill: "#1b1f24" }, "#" + a.n);
  }
  if (next !== null) {
    s("circle", { cx: x(next), cy: rows.actual, r: 6, fill: "#fff", stroke: "#7a4d00", "stroke-width": 2 });
    s("text", { x: x(next), y: rows.actual + 38, "font-size": 13, "text-anchor": "middle", fill: "#7a4d00" }, "next +" + human(next));
  }
  s("text", { x: 4, y: 146, "font-size": 12, fill: "#4d5561" }, `emulated time since the first attempt (time scale ${scale}×; √ axis). ● succeeded/failed attempt, ■ redelivery, ○ next retry`);
  return h("figure", { class: "chart" }, svg,
    h("figcaption", { class: "muted" }, actual.map((a) => `#${a.n}: ${a.manual ? "redelivery" : "planned +" + human(a.planned)}, happened +${human(a.t)}`).join(" · ") + (next !== null ? ` · next retry due +${human(next)}` : "")));
}

// ---- routing and live updates ----

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "") || "deliveries";
  const [path, qs] = raw.split("?");
  const params = Object.fromEntries(new URLSearchParams(qs || ""));
  const parts = path.split("/");
  if (parts[0] === "deliveries" && parts[1]) return { name: "delivery", params: Object.assign(params, { id: decodeURIComponent(parts[1]) }) };
  return { name: views[parts[0]] ? parts[0] : "deliveries", params };
}

let rendering = false, again = false;
async function render(keepFocus) {
  if (rendering) { again = true; return; }
  rendering = true;
  const route = parseHash();
  if (!current || current.name !== route.name || current.key !== location.hash) seen = new Set();
  current = Object.assign(route, { key: location.hash });
  for (const a of document.querySelectorAll("nav a")) {
    const on = a.getAttribute("href").slice(2) === (route.name === "delivery" ? "deliveries" : route.name);
    on ? a.setAttribute("aria-current", "page") : a.removeAttribute("aria-current");
  }
  try {
    const nodes = await views[route.name](route.params);
    const active = document.activeElement && document.activeElement.id;
    const msg = keepFocus && $("#msg") && $("#msg").textContent;
    const kept = keepFocus ? keep() : null;
    main().replaceChildren(...[nodes].flat(Infinity).filter((n) => n !== null && n !== undefined));
    if (kept) kept();
    if (msg && $("#msg")) say(msg);
    if (keepFocus && active && document.getElementById(active)) document.getElementById(active).focus();
    document.title = "standin · " + route.name;
  } catch (e) {
    main().replaceChildren(h("h2", {}, "Error"), h("p", { class: "err", role: "alert" }, e.message));
  }
  rendering = false;
  if (again) { again = false; render(true); }
}

// keep remembers what a live re-render would lose (typed form values, open
// <details>) and returns a function that restores it.
function keep() {
  const values = [...main().querySelectorAll("input[name], select[name]")].map((el) => [el.closest("form") && el.closest("form").getAttribute("aria-label"), el.name, el.value]);
  const open = [...main().querySelectorAll("details[open] > summary")].map((el) => el.closest("section, main").getAttribute("aria-label") + "/" + el.textContent);
  return () => {
    for (const [form, name, value] of values) {
      const el = main().querySelector(`form[aria-label="${form}"] [name="${name}"]`);
      if (el) el.value = value;
    }
    for (const summary of main().querySelectorAll("details > summary"))
      if (open.includes(summary.closest("section, main").getAttribute("aria-label") + "/" + summary.textContent)) summary.parentElement.open = true;
  };
}

// refresh re-renders the current view after a change, at most every 300 ms,
// and only when the change concerns it.
let timer = null;
function changed(c) {
  if (!current) return;
  if (current.name === "delivery" && c.kind !== "resync" && c.id !== current.params.id) return;
  if (current.name === "events" && c.kind !== "event" && c.kind !== "resync") return;
  if (timer) return;
  timer = setTimeout(() => { timer = null; render(true); }, 300);
}

function connect() {
  const live = $("#live");
  const es = new EventSource("/standin/v1/stream");
  es.addEventListener("ready", () => { live.textContent = "Live"; live.className = "on"; });
  for (const kind of ["event", "delivery", "webhook", "resync"]) es.addEventListener(kind, (e) => changed(JSON.parse(e.data)));
  es.onerror = () => { live.textContent = "Reconnecting…"; live.className = "off"; };
}

window.addEventListener("hashchange", () => { render(false); main().focus(); });
(async () => {
  try { settings = await api("/ui/config.json"); } catch {}
  render(false);
  connect();
})();
