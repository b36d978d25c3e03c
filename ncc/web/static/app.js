// NCC BREXIT dashboard: sortable tables, live updates (Server-Sent Events + the JSON API),
// operator actions without reload. No framework; every update is also announced in words
// to the page's live region, so a screen-reader user hears what a sighted user sees.
"use strict";
(function () {
  const L = JSON.parse(document.getElementById("labels").textContent);
  const main = document.querySelector("main");
  const live = main.dataset.live || "";
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  // ---- small helpers -------------------------------------------------------------------
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  const word = (table, v) => (v === null || v === undefined ? "—" : (L[table][v] || String(v)));
  const dash = (v) => (v === null || v === undefined || v === "" ? "—" : String(v));
  const num = (v) => (v === null || v === undefined ? -1 : v);
  function when(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    if (isNaN(d)) return iso;
    const p = {};
    for (const part of new Intl.DateTimeFormat("en-GB", {
      timeZone: "Asia/Jakarta", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
    }).formatToParts(d)) p[part.type] = part.value;
    return `${p.day}-${p.month}-${p.year} ${p.hour}:${p.minute}:${p.second} WIB`;
  }
  function duration(s) {
    if (s === null || s === undefined) return "—";
    s = Math.floor(s);
    const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d) return `${d} hari ${hh} jam`;
    if (hh) return `${hh} jam ${m} menit`;
    if (m) return `${m} menit`;
    return `${s} detik`;
  }
  const time = (iso) => h("time", { datetime: iso || "" }, when(iso));
  const stateBadge = (s) => h("span", { class: "state " + s }, h("span", { "aria-hidden": "true" }, L.node_icon[s] || "?"), " " + word("node_state", s));
  const sevBadge = (s) => h("span", { class: "sev " + s }, h("span", { "aria-hidden": "true" }, L.severity_icon[s] || ""), " " + word("severity", s));
  function say(text) {
    const region = document.getElementById("live");
    region.append(h("p", {}, text));
    while (region.children.length > 5) region.firstElementChild.remove();
  }
  async function getJSON(url) {
    const r = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (r.status === 401) { location.assign("/login?next=" + encodeURIComponent(location.pathname)); throw new Error("login"); }
    if (!r.ok) throw new Error((await r.json()).error || r.statusText);
    return r.json();
  }
  async function postJSON(url, body) {
    const r = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: JSON.stringify(body || {}),
    });
    const data = await r.json().catch(() => ({ error: r.statusText }));
    if (!r.ok) throw new Error(data.error || r.statusText);
    return data;
  }
  function setField(scope, name, content) {
    for (const el of scope.querySelectorAll(`[data-f="${name}"]`)) {
      el.replaceChildren(content instanceof Node ? content.cloneNode(true) : String(content));
    }
  }

  // ---- sortable tables ------------------------------------------------------------------
  const sorted = new WeakMap();
  function sortTable(table, col, dir) {
    const th = table.tHead.rows[0].cells[col];
    const numeric = th.hasAttribute("data-numeric");
    const body = table.tBodies[0];
    const rows = Array.from(body.rows).filter((r) => r.cells.length > col && r.cells[col].hasAttribute("data-v"));
    const key = (r) => r.cells[col].dataset.v;
    rows.sort((a, b) => {
      const x = key(a), y = key(b);
      const c = numeric ? Number(x) - Number(y) : x.localeCompare(y, "id");
      return dir === "ascending" ? c : -c;
    });
    body.append(...rows);
    for (const other of table.tHead.rows[0].cells) if (other.hasAttribute("aria-sort")) other.setAttribute("aria-sort", "none");
    th.setAttribute("aria-sort", dir);
    sorted.set(table, [col, dir]);
  }
  function resort(table) {
    const s = sorted.get(table);
    if (s) sortTable(table, s[0], s[1]);
  }
  for (const table of document.querySelectorAll("table[data-sortable]")) {
    table.tHead.addEventListener("click", (ev) => {
      const button = ev.target.closest("button[data-sort]");
      if (!button) return;
      const th = button.closest("th");
      const dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
      sortTable(table, th.cellIndex, dir);
      say(`Diurutkan menurut ${button.textContent}, ${dir === "ascending" ? "menaik" : "menurun"}.`);
    });
  }

  // ---- rows the live updates render (same markup as the server's macros) ----------------
  function nodeRow(n, withSite) {
    return h("tr", { "data-key": `${n.site}/${n.node}` },
      withSite ? h("td", { "data-v": n.site }, h("a", { href: `/sites/${n.site}` }, n.site)) : null,
      h("th", { scope: "row", "data-v": n.node }, h("a", { href: `/nodes/${n.site}/${n.node}` }, n.node)),
      h("td", { "data-v": n.state, "data-f": "state" }, stateBadge(n.state)),
      h("td", { "data-v": n.last_seen || "", "data-f": "last_seen" }, time(n.last_seen)),
      h("td", { "data-v": n.version || "", "data-f": "version" }, dash(n.version)),
      h("td", { "data-v": num(n.backlog), "data-f": "backlog" }, dash(n.backlog)),
      h("td", { "data-v": n.open_alarms, "data-f": "open_alarms" }, n.open_alarms));
  }
  function alarmRow(a) {
    const where = `${a.site}${a.node ? "/" + a.node : ""}`;
    const canAck = a.state === "open" && main.hasAttribute("data-can-act");
    return h("tr", { "data-key": a.id },
      h("td", { "data-v": { critical: 0, warning: 1, info: 2 }[a.severity] ?? 3 }, sevBadge(a.severity)),
      h("th", { scope: "row", "data-v": a.kind }, word("alarm_kind", a.kind)),
      h("td", { "data-v": a.site }, h("a", { href: `/sites/${a.site}` }, a.site)),
      h("td", { "data-v": a.node || "" }, a.node ? h("a", { href: `/nodes/${a.site}/${a.node}` }, a.node) : "—"),
      h("td", { "data-v": a.detail || "" }, a.detail ? word("device_state", a.detail) : "—"),
      h("td", { "data-v": a.state }, word("alarm_state", a.state) + (a.silenced ? " (dibisukan)" : "")),
      h("td", { "data-v": a.since }, time(a.since)),
      h("td", { "data-v": a.acked_by || "" }, a.acked_by ? [a.acked_by + ", ", time(a.acked_at)] : "—"),
      h("td", {}, canAck ? ackForm(a, where) : "—"));
  }
  function ackForm(a, where) {
    const form = h("form", { method: "post", action: `/alarms/${a.id}/ack`, "data-api": `/api/v1/alarms/${a.id}/ack` },
      h("input", { type: "hidden", name: "csrf", value: csrf }),
      h("input", { type: "hidden", name: "next", value: location.pathname }),
      h("button", { type: "submit", "aria-label": `Akui alarm ${word("alarm_kind", a.kind)} di ${where}` }, "Akui"));
    return form;
  }
  function fillRows(tbody, rows, empty, cols) {
    const focusedKey = document.activeElement && document.activeElement.closest("tr[data-key]") &&
      document.activeElement.closest("tr[data-key]").dataset.key;
    tbody.replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: cols }, empty))]));
    resort(tbody.closest("table"));
    if (focusedKey) {  // keep keyboard focus where it was
      const again = tbody.querySelector(`tr[data-key="${CSS.escape(focusedKey)}"] a, tr[data-key="${CSS.escape(focusedKey)}"] button`);
      if (again) again.focus();
    }
  }
  const lastState = new Map();
  function noteStates(nodes) {
    for (const n of nodes) {
      const key = `${n.site}/${n.node}`;
      const before = lastState.get(key);
      if (before && before !== n.state) say(`Node ${key} sekarang ${word("node_state", n.state)}.`);
      lastState.set(key, n.state);
    }
  }
  for (const row of document.querySelectorAll("tr[data-key] td[data-f=state]")) {
    lastState.set(row.parentElement.dataset.key, row.dataset.v);
  }

  // ---- page refreshers ------------------------------------------------------------------
  const lastSites = new Map();
  function siteTile(s, prefix) {
    const id = `${prefix}-${s.site}`;
    const fact = (term, name, value) => h("div", {}, h("dt", {}, term), h("dd", { "data-f": name }, value));
    return h("li", { class: "tile", "data-site": s.site },
      h("article", { "aria-labelledby": id },
        h("h3", { id }, h("a", { href: `/sites/${s.site}` }, s.name)),
        h("p", { class: "kec" }, `Kecamatan ${s.kecamatan}`),
        h("p", { class: "state offline unreachable", "data-f": "unreachable", hidden: !s.unreachable },
          h("span", { "aria-hidden": "true" }, "✕"), " Tak terjangkau"),
        h("dl", {}, ["online", "silent", "offline"].map((k) => fact(stateBadge(k), k, s.nodes[k] || 0)),
          fact("Alarm terbuka", "open_alarms", s.open_alarms),
          fact("Menunggu sekarang", "waiting", s.waiting),
          fact("Dilayani hari ini", "served_today", s.served_today))));
  }
  function updateTile(s) {
    for (const tile of document.querySelectorAll(`li[data-site="${CSS.escape(s.site)}"]`)) {
      for (const k of ["online", "silent", "offline"]) setField(tile, k, s.nodes[k] || 0);
      for (const k of ["open_alarms", "waiting", "served_today"]) setField(tile, k, s[k]);
      tile.querySelector("[data-f=unreachable]").hidden = !s.unreachable;
    }
    const sig = `${s.nodes.online || 0}/${s.nodes.silent || 0}/${s.nodes.offline || 0}/${s.unreachable}`;
    if (lastSites.has(s.site) && lastSites.get(s.site) !== sig) {
      say(`${s.name}: ${s.nodes.online || 0} daring, ${s.nodes.silent || 0} senyap, ${s.nodes.offline || 0} luring` + (s.unreachable ? ", tak terjangkau." : "."));
    }
    lastSites.set(s.site, sig);
  }
  for (const tile of document.querySelectorAll("li.tile[data-site]")) {  // as the server drew it
    const n = (k) => tile.querySelector(`[data-f=${k}]`).textContent.trim();
    lastSites.set(tile.dataset.site, `${n("online")}/${n("silent")}/${n("offline")}/${!tile.querySelector("[data-f=unreachable]").hidden}`);
  }
  function showSummary(summary) {
    const list = main.querySelector("ul[data-rows=attention]");
    const shown = Array.from(list.querySelectorAll("li[data-site]"), (li) => li.dataset.site).join(" ");
    if (shown !== summary.attention.map((s) => s.site).join(" ")) {
      list.replaceChildren(...(summary.attention.length ? summary.attention.map((s) => siteTile(s, "p"))
        : [h("li", {}, "Semua puskesmas dalam keadaan baik.")]));
    }
    const kinds = Object.entries(summary.alarms_by_kind);
    main.querySelector("ul[data-rows=kinds]").replaceChildren(...(kinds.length
      ? kinds.map(([k, n]) => h("li", {}, h("a", { href: `/alarms?kind=${encodeURIComponent(k)}` }, word("alarm_kind", k)), `: ${n}`))
      : [h("li", {}, "Tidak ada alarm terbuka.")]));
    const asOf = main.querySelector("[data-f=as_of]");
    asOf.setAttribute("datetime", summary.as_of || "");
    asOf.textContent = when(summary.as_of);
  }
  async function refreshOverview() {
    const box = main.querySelector("[data-f=totals]");
    const sites = await getJSON(box.dataset.api);
    let totals;
    if (box.hasAttribute("data-paged")) {  // a large fleet: totals as of the evaluator's last pass
      const summary = await getJSON("/api/v1/summary");
      showSummary(summary);
      for (const s of summary.attention) updateTile(s);
      totals = { ...summary.nodes, alarms: summary.open_alarms, unreachable: summary.unreachable, sites: summary.sites };
    } else {
      totals = { online: 0, silent: 0, offline: 0, alarms: 0, sites: sites.length };
      for (const s of sites) {
        for (const k of ["online", "silent", "offline"]) totals[k] += s.nodes[k] || 0;
        totals.alarms += s.open_alarms;
      }
    }
    for (const s of sites) updateTile(s);
    for (const [k, v] of Object.entries(totals)) {
      const el = document.querySelector(`[data-total="${k}"]`);
      if (el) el.lastChild.textContent = (["online", "silent", "offline"].includes(k) ? " " : "") + v;
    }
  }
  async function refreshNodes() {
    const table = document.querySelector("table[data-api]");
    const page = await getJSON(table.dataset.api);
    noteStates(page.items);
    fillRows(table.tBodies[0], page.items.map((n) => nodeRow(n, true)), "Tidak ada node.", 7);
  }
  async function refreshSite() {
    const table = document.querySelector("table[data-api]");
    const site = await getJSON(table.dataset.api);
    noteStates(site.nodes);
    fillRows(table.tBodies[0], site.nodes.map((n) => nodeRow(n, false)), "Tidak ada node.", 6);
    for (const k of ["open_alarms", "waiting", "served_today"]) setField(main, k, site[k]);
    main.querySelector("[data-f=unreachable]").hidden = !site.unreachable;
    const queue = main.querySelector("tbody[data-rows=queue]");
    fillRows(queue, site.queue.map((q) => h("tr", { "data-key": q.service },
      h("th", { scope: "row", "data-v": q.service }, `${q.service} ${q.name}`),
      h("td", { "data-v": q.waiting }, q.waiting),
      h("td", { "data-v": num(q.avg_wait_s) }, duration(q.avg_wait_s)),
      h("td", { "data-v": q.served }, q.served),
      h("td", { "data-v": q.no_shows }, q.no_shows),
      h("td", { "data-v": q.assisted }, q.assisted))), "Belum ada antrean hari ini.", 6);
  }
  async function refreshNode() {
    const section = main.querySelector("section[data-api]");
    const n = await getJSON(section.dataset.api);
    const key = `${n.site}/${n.node}`;
    if (lastState.has(key) && lastState.get(key) !== n.state) say(`Node ${key} sekarang ${word("node_state", n.state)}.`);
    lastState.set(key, n.state);
    setField(section, "state", stateBadge(n.state));
    setField(section, "last_seen", time(n.last_seen));
    for (const k of ["version", "session", "epoch", "backlog", "open_alarms"]) setField(section, k, dash(n[k]));
    setField(section, "uptime_s", duration(n.uptime_s));
    const m = n.mqtt || {};
    setField(section, "acked", m.last_seq === null || m.last_seq === undefined ? "—" : `${m.acked_seq} dari ${m.last_seq}`);
    setField(section, "clock_skew_s", m.clock_skew_s === null || m.clock_skew_s === undefined ? "—" : `${m.clock_skew_s} detik`);
    setField(section, "certificate_days_left", n.certificate_days_left === null ? "—" : `${n.certificate_days_left} hari lagi`);
    const devices = Object.keys(n.devices).sort().map((name) => {
      const d = n.devices[name], ok = d.state === "ok";
      return h("tr", { "data-key": name },
        h("th", { scope: "row", "data-v": name }, word("device", name)),
        h("td", { "data-v": d.state }, h("span", { class: "dev " + (ok ? "ok" : "bad") }, h("span", { "aria-hidden": "true" }, ok ? "✓" : "✕"), " " + word("device_state", d.state))),
        h("td", { "data-v": d.since || "" }, time(d.since)),
        h("td", { "data-v": d.detail || "" }, dash(d.detail)));
    });
    fillRows(main.querySelector("tbody[data-rows=devices]"), devices, "Belum ada laporan kesehatan.", 4);
    fillRows(main.querySelector("tbody[data-rows=events]"), n.recent_events.map((e) => h("tr", {},
      h("td", { "data-v": e.ts }, time(e.ts)),
      h("td", { "data-v": e.type }, word("event_type", e.type)),
      h("td", { "data-v": e.seq }, e.seq),
      h("td", {}, h("code", {}, JSON.stringify(e.data))))), "Belum ada kejadian.", 4);
    fillRows(main.querySelector("tbody[data-rows=health]"), n.health_history.slice().reverse().map((x) => h("tr", {},
      h("td", { "data-v": x.ts }, time(x.ts)),
      h("td", { "data-v": num(x.cpu_temp_c) }, dash(x.cpu_temp_c)),
      h("td", { "data-v": num(x.disk_free_mb) }, dash(x.disk_free_mb)),
      h("td", { "data-v": num(x.backlog) }, dash(x.backlog)))), "Belum ada riwayat.", 4);
    drawChart(n.health_history);
    const alarms = (await getJSON(`/api/v1/alarms?state=open&site=${encodeURIComponent(n.site)}`)).filter((a) => a.node === n.node);
    const list = main.querySelector("ul[data-rows=node-alarms]");
    list.replaceChildren(...(alarms.length ? alarms.map((a) => h("li", {}, sevBadge(a.severity),
      `: ${word("alarm_kind", a.kind)}${a.detail ? ` (${word("device_state", a.detail)})` : ""}, sejak `, time(a.since),
      a.state === "acked" ? `, diakui oleh ${a.acked_by}.` : ".")) : [h("li", {}, "Tidak ada alarm terbuka.")]));
  }
  const knownAlarms = new Set(Array.from(document.querySelectorAll("tbody[data-rows=alarms] tr[data-key]"), (r) => r.dataset.key));
  async function refreshAlarms() {
    const table = document.querySelector("table[data-api]");
    const alarms = await getJSON(table.dataset.api);
    for (const a of alarms) {
      if (!knownAlarms.has(String(a.id))) say(`Alarm baru: ${word("alarm_kind", a.kind)} di ${a.site}${a.node ? "/" + a.node : ""}.`);
      knownAlarms.add(String(a.id));
    }
    fillRows(table.tBodies[0], alarms.map(alarmRow), "Tidak ada alarm.", 9);
    setField(main, "count", alarms.length);
  }
  const refreshers = { overview: refreshOverview, nodes: refreshNodes, site: refreshSite, node: refreshNode, alarms: refreshAlarms };

  // ---- the event stream -----------------------------------------------------------------
  function relevant(change) {
    const here = main.querySelector("[data-api]");
    if (live === "site") return here.dataset.api.endsWith("/" + change.site);
    if (live === "node") return here.dataset.api.includes(`/nodes/${change.site}/`) &&
      (!change.node || here.dataset.api.endsWith(`/${change.site}/${change.node}`));
    return true;
  }
  let timer = null, running = false, again = false;
  function schedule() {
    if (timer) return;
    timer = setTimeout(async () => {
      timer = null;
      if (running) { again = true; return; }
      running = true;
      try { await refreshers[live](); } catch (err) { console.warn("refresh", err); }
      running = false;
      if (again) { again = false; schedule(); }
    }, 300);
  }
  const status = document.getElementById("stream-state");
  if (status) {
    const source = new EventSource("/api/v1/stream");
    source.onopen = () => { status.textContent = "tersambung"; main.dataset.stream = "open"; if (refreshers[live]) schedule(); };
    source.onerror = () => { status.textContent = "terputus, mencoba lagi…"; main.dataset.stream = "closed"; };
    source.onmessage = (ev) => {
      if (!refreshers[live]) return;
      const change = JSON.parse(ev.data);
      if (relevant(change)) schedule();
    };
    window.addEventListener("pagehide", () => source.close());
  }

  // ---- operator actions without reload ------------------------------------------------
  document.addEventListener("submit", async (ev) => {
    const form = ev.target;
    if (!(form instanceof HTMLFormElement)) return;
    if (form.dataset.api) {  // acknowledge
      ev.preventDefault();
      const button = form.querySelector("button");
      button.disabled = true;
      try {
        const a = await postJSON(form.dataset.api);
        say(`Alarm #${a.id} diakui.`);
        if (refreshers[live]) await refreshers[live]();
        const heading = main.querySelector("h1"); heading.tabIndex = -1;
        if (!document.activeElement || document.activeElement === document.body) heading.focus();
      } catch (err) {
        button.disabled = false;
        say(`Gagal mengakui alarm: ${err.message}`);
      }
    } else if (form.dataset.command) {  // command to a node
      ev.preventDefault();
      const data = new FormData(form);
      const name = data.get("name");
      const args = name === "reprint" ? { number: String(data.get("number")).trim() }
        : (name === "announce" || name === "message") ? { text: String(data.get("text")).trim() } : {};
      const out = form.querySelector("[data-f=reply]");
      const button = form.querySelector("button[type=submit]");
      const label = form.querySelector(`label[for="cmd-${name}"]`).textContent;
      button.disabled = true;
      out.className = "reply";
      out.textContent = `${label}: dikirim, menunggu jawaban node…`;
      try {
        const r = await postJSON(form.dataset.command + encodeURIComponent(name), args);
        out.className = "reply " + (r.ok ? "ok" : "error");
        out.textContent = r.ok ? `${label}: berhasil.` + (r.data ? ` Jawaban node: ${JSON.stringify(r.data)}` : "")
          : r.error === "timeout" ? `${label}: node tidak menjawab (batas waktu habis).` : `${label}: gagal. ${r.error || ""}`;
      } catch (err) {
        out.className = "reply error";
        out.textContent = `${label}: ditolak. ${err.message}`;
      } finally {
        button.disabled = false;
      }
    }
  });

  // ---- the health chart (uPlot) ---------------------------------------------------------
  let chart = null;
  function drawChart(history) {
    const box = document.getElementById("chart");
    if (!box || !window.uPlot) return;
    const xs = history.map((x) => Date.parse(x.ts) / 1000);
    const data = [xs, history.map((x) => x.cpu_temp_c), history.map((x) => x.backlog)];
    if (chart) { chart.setData(data); return; }
    const hhmm = (ts) => when(new Date(ts * 1000).toISOString()).slice(11, 16);
    chart = new window.uPlot({
      width: Math.max(300, box.clientWidth || 600), height: 240,
      scales: { x: { time: true, range: (u, lo, hi) => (lo === hi ? [lo - 3600, hi + 60] : [lo, hi]) } },
      series: [{ label: "Waktu", value: (u, ts) => (ts === null ? "—" : when(new Date(ts * 1000).toISOString())) },
        { label: "Suhu CPU (°C)", stroke: "#9a3412", width: 2 },
        { label: "Backlog", stroke: "#1d4ed8", width: 2, dash: [6, 4], scale: "n" }],
      axes: [{ values: (u, splits) => splits.map(hhmm) }, { label: "°C" },
        { side: 1, scale: "n", label: "backlog", grid: { show: false } }],
    }, data, box);
  }
  const healthData = document.getElementById("health-data");
  if (healthData) window.addEventListener("load", () => drawChart(JSON.parse(healthData.textContent)));

  // A notice after a form post (acknowledged, command reply) gets the focus, so it is read.
  const notice = main.querySelector(".notice");
  if (notice) notice.focus();
})();
