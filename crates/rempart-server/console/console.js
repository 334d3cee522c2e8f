// rempart review console. Plain JavaScript, no dependencies, served by the
// rempart binary itself. Every element is built with createElement and text
// nodes: nothing a seller, a notifier or a reviewer wrote is ever parsed as
// markup. It talks to the same /v1 API as any client, with the key the
// reviewer logs in with (kept in this tab's sessionStorage only).
"use strict";
(function () {
  const KEY = "rempart.key";
  const state = {
    key: sessionStorage.getItem(KEY),
    me: null,
    filter: { status: "pending", source: null, policy: null },
    items: [],
    next: null,
    sel: 0,
    counts: null,
    item: null,
    decide: null,
    result: null,
    help: false,
    hot: null,
  };
  const app = document.getElementById("app");
  let ticker = null;

  // ---- DOM helpers -------------------------------------------------------
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "data") for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = dv;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    add(el, kids);
    return el;
  }
  function add(el, kids) {
    for (const kid of kids) {
      if (kid === null || kid === undefined || kid === false) continue;
      if (Array.isArray(kid)) add(el, kid);
      else if (kid instanceof Node) el.appendChild(kid);
      else el.appendChild(document.createTextNode(String(kid)));
    }
  }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }
  function kbd(k) { return h("kbd", {}, k); }

  // ---- API -----------------------------------------------------------------
  async function api(method, path, body) {
    const init = { method, headers: { Authorization: "Bearer " + state.key } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const r = await fetch(path, init);
    if (r.status === 204) return null;
    const data = await r.json().catch(() => null);
    if (!r.ok) {
      const e = new Error((data && data.error && data.error.message) || r.status + " " + r.statusText);
      e.status = r.status;
      e.field = data && data.error && data.error.field;
      if (r.status === 401) logout("The key was refused: log in again.");
      throw e;
    }
    return data;
  }
  function qs(params) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") p.set(k, v);
    const s = p.toString();
    return s ? "?" + s : "";
  }

  // ---- Formatting ------------------------------------------------------------
  function dur(ms) {
    const s = Math.abs(Math.round(ms / 1000));
    if (s < 60) return s + " s";
    const m = Math.floor(s / 60);
    if (m < 60) return m + " min";
    const hrs = Math.floor(m / 60);
    if (hrs < 48) return hrs + " h " + (m % 60) + " min";
    return Math.floor(hrs / 24) + " d";
  }
  function ago(iso) { return iso ? dur(Date.now() - Date.parse(iso)) + " ago" : ""; }
  function left(iso) {
    const ms = Date.parse(iso) - Date.now();
    return ms >= 0 ? dur(ms) + " left" : "overdue " + dur(ms);
  }
  function dueChip(iso) {
    const ms = Date.parse(iso) - Date.now();
    return h("span", { class: "due " + (ms < 0 ? "late" : ms < 6 * 3600e3 ? "soon" : ""), data: { deadline: iso } }, left(iso));
  }
  function when(iso) { return iso ? iso.replace("T", " ").replace(/\.\d+Z$/, " UTC") : ""; }
  function category(c) {
    const t = String(c || "").replace(/^STATEMENT_CATEGORY_/, "").toLowerCase().replace(/_/g, " ");
    return t.charAt(0).toUpperCase() + t.slice(1);
  }
  function sourceLabel(s) {
    return { detection: "detection", relisting: "relisting", notice: "notice", trusted_flagger: "trusted flagger", order: "order", appeal: "appeal" }[s] || s;
  }
  function verdictChip(v) { return h("span", { class: "chip " + v }, v); }
  function sevChip(n) { return h("span", { class: "sev " + (n >= 30 ? "hi" : n >= 20 ? "mid" : "lo"), title: "severity" }, String(n)); }
  function srcChip(s) { return h("span", { class: "chip src " + s }, sourceLabel(s)); }
  function short(id) { return String(id || "").slice(0, 8); }

  let toastTimer = null;
  function toast(text, bad) {
    const old = document.querySelector(".toast");
    if (old) old.remove();
    const t = h("div", { class: "toast" + (bad ? " bad" : ""), role: "status" }, text);
    document.body.appendChild(t);
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => t.remove(), bad ? 6000 : 2500);
  }

  // ---- Session ---------------------------------------------------------------
  function logout(message) {
    sessionStorage.removeItem(KEY);
    state.key = null;
    state.me = null;
    renderLogin(message);
  }

  function renderLogin(message) {
    stopTicker();
    clear(app);
    const input = h("input", { id: "key", type: "password", autocomplete: "off", spellcheck: "false", placeholder: "rk_…" });
    const err = h("div", { class: "error", hidden: !message }, message || "");
    async function submit(ev) {
      ev.preventDefault();
      state.key = input.value.trim();
      try {
        state.me = await api("GET", "/v1/me");
        if (!["reviewer", "auditor", "admin"].includes(state.me.role)) {
          throw new Error("a " + state.me.role + " key cannot use the review console (reviewer, auditor or admin)");
        }
        sessionStorage.setItem(KEY, state.key);
        route();
      } catch (e) {
        state.key = null;
        err.hidden = false;
        err.textContent = e.message;
      }
    }
    app.appendChild(
      h("form", { class: "login", onsubmit: submit },
        h("h1", {}, "rempart review console"),
        h("p", {}, "Log in with your reviewer key. It stays in this browser tab and is sent only to this service."),
        h("label", { for: "key" }, "Reviewer key"),
        input,
        err,
        h("div", { class: "actions" },
          h("span", { class: "sub" }, "Create one: ", h("code", {}, "rempart keys create --role reviewer")),
          h("button", { class: "btn primary", type: "submit", id: "login" }, "Log in"))));
    input.focus();
  }

  function topbar(active) {
    const tab = (name, label, key) =>
      h("button", { class: active === name ? "on" : "", onclick: () => go("#/" + name) }, label, kbd(key));
    return h("header", { class: "bar" },
      h("div", { class: "brand" }, h("img", { src: "/console/icon.svg", alt: "" }), "rempart review"),
      h("nav", { class: "nav" }, tab("queue", "Queue", "q"), tab("notices", "Notices", "n"), tab("appeals", "Appeals", "p"), tab("stats", "Accuracy", "s")),
      h("div", { class: "who" },
        h("span", {}, state.me ? state.me.label + " · " + state.me.role + " · " : "", h("code", {}, state.me ? state.me.key_id : "")),
        h("button", { onclick: () => { state.help = true; renderHelp(); } }, "Shortcuts ", kbd("?")),
        h("button", { id: "logout", onclick: () => logout() }, "Log out")));
  }

  function page(active, ...content) {
    clear(app);
    app.appendChild(topbar(active));
    app.appendChild(h("main", {}, content));
  }

  function go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  function stopTicker() { if (ticker) clearInterval(ticker); ticker = null; }
  function startTicker() {
    stopTicker();
    ticker = setInterval(() => {
      for (const el of document.querySelectorAll("[data-deadline]")) {
        const ms = Date.parse(el.dataset.deadline) - Date.now();
        el.textContent = left(el.dataset.deadline);
        el.className = "due " + (ms < 0 ? "late" : ms < 6 * 3600e3 ? "soon" : "");
      }
      const lease = document.getElementById("lease-left");
      if (lease && lease.dataset.until) {
        const ms = Date.parse(lease.dataset.until) - Date.now();
        lease.textContent = ms > 0 ? dur(ms) : "expired";
      }
    }, 1000);
  }

  // ---- Queue ---------------------------------------------------------------
  async function loadQueue() {
    const f = state.filter;
    const [page1, counts] = await Promise.all([
      api("GET", "/v1/reviews" + qs({ status: f.status, source: f.source, policy: f.policy, limit: 100 })),
      api("GET", "/v1/reviews/counts"),
    ]);
    state.items = page1.items;
    state.next = page1.next;
    state.counts = counts;
    state.sel = Math.min(state.sel, Math.max(0, state.items.length - 1));
  }

  async function moreQueue() {
    if (!state.next) return;
    const f = state.filter;
    const more = await api("GET", "/v1/reviews" + qs({ status: f.status, source: f.source, policy: f.policy, limit: 100, after: state.next }));
    state.items = state.items.concat(more.items);
    state.next = more.next;
    renderQueue();
  }

  function filterButton(label, n, on, onclick) {
    return h("button", { class: "filter" + (on ? " on" : ""), onclick }, h("span", {}, label), h("span", { class: "n" }, n === null ? "" : String(n)));
  }

  function renderQueue() {
    const c = state.counts || { by_status: [], pending_by_source: [], pending_by_policy: [] };
    const f = state.filter;
    const count = (pairs, k) => { const p = pairs.find((x) => x[0] === k); return p ? p[1] : 0; };
    const pending = count(c.by_status, "pending");
    const setF = (patch) => () => { Object.assign(state.filter, patch); state.sel = 0; showQueue(); };
    const filters = h("aside", { class: "panel filters" },
      h("h2", {}, "Filters"),
      h("div", { class: "group" }, h("div", { class: "label" }, "Status"),
        ["pending", "closed", "superseded", "all"].map((s) =>
          filterButton(s, s === "all" ? null : count(c.by_status, s), f.status === s, setF({ status: s })))),
      h("div", { class: "group" }, h("div", { class: "label" }, "Source (pending)"),
        filterButton("any source", pending, !f.source, setF({ source: null })),
        ["order", "trusted_flagger", "notice", "appeal", "relisting", "detection"].map((s) =>
          filterButton(sourceLabel(s), count(c.pending_by_source, s), f.source === s, setF({ source: s })))),
      h("div", { class: "group" }, h("div", { class: "label" }, "Policy (pending)"),
        filterButton("any policy", null, !f.policy, setF({ policy: null })),
        c.pending_by_policy.map(([p, n]) => filterButton(p.replace(/_/g, " "), n, f.policy === p, setF({ policy: p })))));

    const summary = h("div", { class: "summary" },
      h("div", { class: "stat" }, h("b", {}, String(pending)), "pending"),
      h("div", { class: "stat" }, h("b", {}, String(c.pending_claimed || 0)), "held now"),
      h("div", { class: "stat" }, h("b", {}, String(c.pending_second_stage || 0)), "awaiting a second reviewer"),
      h("div", { class: "stat" + (c.orders_overdue ? " warn" : "") }, h("b", {}, String(c.orders_overdue || 0)), "orders overdue"),
      h("span", { style: null }, " "),
      h("button", { class: "btn primary", id: "claim-next", onclick: claimNext }, "Claim next ", kbd("N")),
      h("button", { class: "btn", onclick: showQueue }, "Refresh ", kbd("r")));

    const rows = state.items.map((it, i) =>
      h("tr", { class: "row" + (i === state.sel ? " sel" : ""), data: { review: it.review_id }, onclick: () => go("#/item/" + it.review_id) },
        h("td", {}, sevChip(it.severity)),
        h("td", {}, srcChip(it.source), it.stage !== "first" ? [" ", h("span", { class: "chip four" }, it.stage === "second" ? "2nd reviewer" : "tiebreak")] : null),
        h("td", {},
          h("div", { class: "title-cell" }, it.title || "(no title)"),
          h("div", { class: "sub mono" }, it.listing_id || "seller " + (it.seller_id || "")),
          it.policies.length ? h("div", { class: "sub" }, it.policies.join(", ")) : null),
        h("td", {}, it.deadline && it.status === "pending" ? dueChip(it.deadline) : h("span", { class: "sub" }, ago(it.created_at))),
        h("td", {}, it.claimed_by ? h("span", { class: "chip held" }, it.claimed_by === (state.me && state.me.key_id) ? "held by you" : "held · " + it.claimed_by) : it.outcome ? verdictChip(it.outcome) : "")));
    const table = state.items.length
      ? h("table", { class: "list", id: "queue" },
          h("thead", {}, h("tr", {}, h("th", {}, "Sev."), h("th", {}, "Source"), h("th", {}, "Listing"), h("th", {}, "Age / deadline"), h("th", {}, ""))),
          h("tbody", {}, rows))
      : h("div", { class: "empty" }, "Nothing here. ", f.status === "pending" ? "The queue is empty for these filters." : "");
    page("queue",
      h("div", { class: "queue" }, filters,
        h("section", {}, summary, h("div", { class: "panel" }, table,
          state.next ? h("div", { class: "body" }, h("button", { class: "btn", onclick: moreQueue }, "Load more")) : null))));
    const sel = document.querySelector("tr.sel");
    if (sel) sel.scrollIntoView({ block: "nearest" });
    startTicker();
  }

  async function showQueue() {
    try {
      await loadQueue();
      renderQueue();
    } catch (e) {
      page("queue", h("div", { class: "error" }, e.message));
    }
  }

  async function claimNext() {
    try {
      const f = state.filter;
      const body = {};
      if (f.policy) body.policy = f.policy;
      if (f.source) body.source = f.source;
      const got = await api("POST", "/v1/reviews/claim-next", body);
      if (!got) return toast("Nothing left to claim for these filters.");
      go("#/item/" + got.item.review_id);
    } catch (e) {
      toast(e.message, true);
    }
  }

  // ---- Item ------------------------------------------------------------------
  async function showItem(id) {
    try {
      state.item = withDefaults(await api("GET", "/v1/reviews/" + encodeURIComponent(id)));
      renderItem();
    } catch (e) {
      page("queue", h("div", { class: "error" }, e.message), h("p", {}, h("a", { href: "#/queue" }, "Back to the queue")));
    }
  }

  // The API leaves out empty lists: give them back so rendering never
  // needs to ask.
  function withDefaults(v) {
    v.item.excluded = v.item.excluded || [];
    v.item.policies = v.item.policies || [];
    for (const f of v.fields || []) for (const s of f.segments) s.evidence = s.evidence || [];
    for (const r of v.rules || []) r.evidence = r.evidence || [];
    for (const i of v.images || []) i.evidence = i.evidence || [];
    return v;
  }

  function mine(v) {
    const it = v.item;
    return it.claimed_by && state.me && it.claimed_by === state.me.key_id;
  }

  function renderFields(v) {
    const last = new Map();
    v.fields.forEach((f, fi) => f.segments.forEach((s, si) => s.evidence.forEach((e) => last.set(e, fi + ":" + si))));
    const attrs = v.fields.filter((f) => f.field.startsWith("attributes."));
    const texts = v.fields.filter((f) => !f.field.startsWith("attributes."));
    const segs = (f, fi) => f.segments.map((s, si) => {
      if (!s.evidence.length) return s.text;
      const ends = s.evidence.filter((e) => last.get(e) === fi + ":" + si).map((e) => e + 1);
      return [h("mark", { data: { ev: s.evidence.join(" ") } }, s.text), ends.length ? h("sup", { class: "ev" }, ends.join(",")) : null];
    });
    const idx = (f) => v.fields.indexOf(f);
    return [
      texts.map((f) => h("div", { class: "field " + f.field },
        h("div", { class: "name" }, f.field),
        h("div", { class: "text", id: "field-" + f.field }, segs(f, idx(f))))),
      attrs.length ? h("div", { class: "field" }, h("div", { class: "name" }, "attributes"),
        h("div", { class: "attrs" }, attrs.map((f) => [h("div", { class: "k" }, f.field.slice(11)), h("div", {}, segs(f, idx(f)))]))) : null,
    ];
  }

  function hotEvidence(i, on) {
    for (const m of document.querySelectorAll("mark[data-ev]")) {
      if (m.dataset.ev.split(" ").includes(String(i))) m.classList.toggle("hot", on);
    }
  }

  function evidenceList(v, indexes) {
    return h("ul", { class: "evlist" }, indexes.map((i) => {
      const e = v.evidence[i];
      return h("li", { onmouseenter: () => hotEvidence(i, true), onmouseleave: () => hotEvidence(i, false) },
        h("span", { class: "n" }, String(i + 1)),
        h("span", {}, "«", e.text, "» ", h("span", { class: "where" }, e.field + " · " + e.signal),
          e.detail ? h("span", { class: "detail" }, e.detail) : null));
    }));
  }

  function renderRules(v) {
    if (!v.rules.length) return h("p", { class: "sub" }, "No rule matched: this item comes from ", sourceLabel(v.item.source), ".");
    return v.rules.map((r) => h("div", { class: "rule" },
      h("div", { class: "top" }, verdictChip(r.action), r.condition ? h("span", { class: "chip src" }, r.condition.replace(/_/g, " ")) : null,
        h("span", { class: "policy" }, r.policy_title || r.policy), r.four_eyes ? h("span", { class: "chip four", title: "A block needs a second reviewer" }, "four-eyes") : null),
      h("div", { class: "sub mono" }, r.policy + " / " + r.rule),
      h("div", { class: "basis" }, h("b", {}, r.dsa_ground === "illegal_content" ? "Legal basis: " : "Terms ground: "), r.legal_basis),
      h("div", { class: "sub" }, "Scope: ", r.scope.join(", ")),
      r.explain ? h("div", { class: "explain" }, r.explain) : null,
      r.evidence.length ? evidenceList(v, r.evidence) : null));
  }

  function renderImages(v) {
    if (!v.images.length) return null;
    return h("section", { class: "panel" }, h("h2", {}, "Images (" + v.images.length + ")"), h("div", { class: "body images" },
      v.images.map((img) => {
        const thumb = h("div", { class: "thumb" }, "not shown");
        let safeUrl = null;
        try {
          const u = new URL(img.url || "", location.href);
          if (u.protocol === "https:" || u.protocol === "http:") safeUrl = u.href;
        } catch (e) { safeUrl = null; }
        const show = () => {
          clear(thumb);
          const im = h("img", { src: safeUrl, alt: "listing image " + (img.index + 1), referrerpolicy: "no-referrer", onclick: (ev) => ev.target.classList.toggle("clear") });
          thumb.appendChild(im);
        };
        return h("div", { class: "image" + (img.evidence.length ? " hit" : "") },
          thumb,
          safeUrl ? h("button", { class: "btn", onclick: show, title: "Loads it from the seller's host, blurred; click it to unblur" }, "Show (blurred)") : null,
          img.url ? h("div", { class: "url" }, img.url) : null,
          img.pdq ? h("div", { class: "url mono" }, "PDQ " + img.pdq.slice(0, 16) + "…") : null,
          img.evidence.map((i) => h("div", { class: "match" }, "⚑ ", v.evidence[i].signal, ": ", v.evidence[i].detail || "")));
      })));
  }

  function renderSeller(v) {
    const s = v.seller;
    if (!s) return null;
    const live = s.strikes.filter((x) => !x.removed_at);
    return h("section", { class: "panel" }, h("h2", {}, "Seller"), h("div", { class: "body" },
      h("dl", { class: "kv" },
        h("dt", {}, "Seller"), h("dd", { class: "mono" }, s.seller_id),
        h("dt", {}, "Strikes"), h("dd", {}, live.length ? live.length + " live" : "none", s.strikes.length > live.length ? " (" + (s.strikes.length - live.length) + " removed)" : ""),
        h("dt", {}, "Suspension"), h("dd", {}, s.suspension ? h("span", { class: "chip block" }, "until " + when(s.suspension.ends_at)) : "none"),
        h("dt", {}, "Trader record"), h("dd", {}, s.trader ? [h("span", { class: "chip " + (s.trader.status === "verified" ? "allow" : "review") }, s.trader.status),
          s.trader.missing.length ? h("div", { class: "sub" }, "missing: " + s.trader.missing.join(", ")) : null,
          s.trader.findings.map((f) => h("div", { class: "sub" }, f.field + ": " + f.message))] : "none"),
        h("dt", {}, "Listings"), h("dd", {}, s.verdicts.map(([k, n]) => k + " " + n).join(" · ") || "none")),
      live.length ? h("ul", { class: "timeline" }, live.slice(0, 6).map((x) => h("li", {}, h("span", { class: "sub" }, when(x.created_at)), " ", x.policy, " · ", h("span", { class: "mono" }, x.listing_id)))) : null));
  }

  function renderNotices(v) {
    if (!v.notices.length && !v.appeal && !v.suspension) return null;
    return h("section", { class: "panel" }, h("h2", {}, v.appeal ? "Appeal" : v.notices.length ? "Notices (" + v.notices.length + ")" : "Suspension"), h("div", { class: "body" },
      v.appeal ? h("div", {},
        h("div", { class: "sub" }, "Against ", v.appeal.subject, " ", h("span", { class: "mono" }, short(v.appeal.decision_id)), " · received ", ago(v.appeal.received_at)),
        h("p", { class: "field text" }, v.appeal.explanation),
        (v.item.excluded || []).length ? h("div", { class: "sub" }, "Cannot decide it (they decided before): ", v.item.excluded.join(", ")) : null) : null,
      v.suspension ? h("dl", { class: "kv" }, h("dt", {}, "Until"), h("dd", {}, when(v.suspension.ends_at)), h("dt", {}, "Reason"), h("dd", {}, v.suspension.reason)) : null,
      h("ul", { class: "timeline" }, v.notices.map((n) => h("li", {},
        h("div", { class: "line1" }, srcChip(n.kind), h("span", {}, category(n.category)), n.order ? dueChip(n.order.deadline) : null,
          n.merged_into ? h("span", { class: "sub" }, "merged") : null, n.outcome ? verdictChip(n.outcome) : null),
        n.order ? h("div", { class: "sub" }, n.order.authority, n.order.reference ? " · " + n.order.reference : "", " · ", n.order.legal_basis) : null,
        h("div", {}, n.explanation),
        h("div", { class: "sub" }, n.csam ? "anonymous (child sexual abuse material)" : (n.notifier_name || "") + (n.notifier_email ? " <" + n.notifier_email + ">" : ""), " · ", ago(n.received_at)))))));
  }

  function renderHistory(v) {
    return h("section", { class: "panel" }, h("h2", {}, "Decisions on this listing"), h("div", { class: "body" },
      h("ul", { class: "timeline", id: "history" }, v.history.map((d) => h("li", { data: { decision: d.decision_id } },
        h("div", { class: "line1" }, verdictChip(d.verdict), h("span", {}, d.origin), h("span", { class: "sub" }, "by ", d.decided_by),
          h("span", { class: "idx mono" }, "#" + d.audit_index), d.decision_id === v.current_decision ? h("span", { class: "chip held" }, "in force") : null),
        h("div", { class: "sub" }, when(d.decided_at), " · v", String(d.version), " · ", h("span", { class: "mono" }, d.decision_id)),
        d.reason ? h("div", { class: "sub" }, "reason ", d.reason.code, d.reason.note ? " — " + d.reason.note : "") : null)))));
  }

  function renderAudit(v) {
    return h("section", { class: "panel" }, h("h2", {}, "Audit entries of this item", h("span", { class: "sub" }, String(v.audit.length))), h("div", { class: "body" },
      h("ul", { class: "timeline", id: "audit" }, v.audit.map((e) => h("li", { data: { index: String(e.index), action: e.data.action || e.kind } },
        h("div", { class: "line1" }, h("span", { class: "idx mono" }, "#" + e.index), h("b", {}, e.kind.replace(/_/g, " ")), h("span", {}, e.data.action || e.data.origin || ""),
          e.data.reviewer ? h("span", { class: "sub" }, "by " + e.data.reviewer) : null, h("span", { class: "sub" }, when(e.recorded_at))),
        h("details", {}, h("summary", {}, "entry"), h("pre", { class: "json" }, JSON.stringify(e.data, null, 2))))))));
  }

  function reasonsFor(v, outcome) {
    return v.reasons.filter((r) => r.outcomes.includes(outcome));
  }

  function renderDecide(v) {
    const d = state.decide;
    if (!d) return null;
    const reasons = reasonsFor(v, d.outcome);
    const pick = (i) => () => { d.reason = reasons[i] && reasons[i].code; renderItem(); };
    const note = h("textarea", { id: "note", placeholder: "Your note (kept with the decision; the seller does not see it)", oninput: (ev) => { d.note = ev.target.value; } });
    note.value = d.note || "";
    const chosen = reasons.find((r) => r.code === d.reason);
    const cond = d.outcome === "restrict"
      ? h("select", { id: "condition", onchange: (ev) => { d.condition = ev.target.value || null; } },
          h("option", { value: "" }, chosen && chosen.condition ? "as the reason says (" + chosen.condition.replace(/_/g, " ") + ")" : "condition…"),
          ["adults_only", "documents_required", "licence_required"].map((c) => h("option", { value: c, selected: d.condition === c }, c.replace(/_/g, " "))))
      : null;
    const fourEyes = d.outcome === "block" && v.four_eyes && v.item.stage === "first";
    return h("div", { class: "decide " + d.outcome, id: "decide" },
      h("h3", {}, "Decide: ", d.outcome),
      fourEyes ? h("div", { class: "warn-box" }, "Four-eyes: this block will wait for a second reviewer before it takes effect.") : null,
      v.item.stage === "second" ? h("div", { class: "warn-box" }, "Second reviewer: a reviewer proposed to block. Block to confirm; another outcome sends the item to a tiebreak.") : null,
      h("div", { class: "sub" }, "Reason (", kbd("1"), reasons.length > 1 ? ["–", kbd(String(Math.min(9, reasons.length)))] : null, "):"),
      h("div", { class: "reasons" }, reasons.map((r, i) => h("div", { class: "reason" + (d.reason === r.code ? " on" : ""), data: { code: r.code }, onclick: pick(i) },
        i < 9 ? kbd(String(i + 1)) : null, h("span", { class: "code" }, r.code), h("span", { class: "txt" }, r.text)))),
      note,
      h("div", { class: "row" }, cond,
        h("button", { class: "btn " + d.outcome, id: "confirm", disabled: !d.reason, onclick: submitDecision }, "Confirm ", d.outcome, " ", kbd("Ctrl+Enter")),
        h("button", { class: "btn", onclick: () => { state.decide = null; renderItem(); } }, "Cancel ", kbd("Esc")),
        d.error ? h("span", { class: "error" }, d.error) : null));
  }

  function renderResult() {
    const r = state.result;
    if (!r) return null;
    if (r.state === "final") {
      const dec = r.decision;
      return h("div", { class: "result " + (dec ? dec.decision.verdict : ""), id: "result" },
        h("h3", {}, "Decided: ", dec ? verdictChip(dec.decision.verdict) : r.review.outcome),
        dec ? h("div", {}, "New decision ", h("code", { id: "new-decision" }, dec.decision_id), " · audit entry #", String(dec.audit_index), " · supersedes ", h("code", {}, short(dec.supersedes))) : null,
        r.notices.length ? h("div", { class: "sub" }, "Notifiers answered: ", String(r.notices.length)) : null,
        r.appeal ? h("div", { class: "sub" }, "Appeal ", r.appeal.outcome) : null,
        r.seller && r.seller.strike ? h("div", { class: "sub" }, "Strike recorded against ", r.seller.strike.seller_id) : null,
        r.seller && r.seller.warning ? h("div", { class: "sub" }, "The seller was warned (repeat offender policy).") : null,
        r.seller && r.seller.suspension ? h("div", { class: "sub" }, "The seller is suspended until ", when(r.seller.suspension.ends_at)) : null,
        h("div", { class: "row" }, h("button", { class: "btn primary", onclick: claimNext }, "Claim next ", kbd("N")), " ", h("button", { class: "btn", onclick: () => go("#/queue") }, "Back to queue ", kbd("Esc"))));
    }
    return h("div", { class: "result pending", id: "result" },
      h("h3", {}, r.state === "awaiting_second_reviewer" ? "Proposed: a second reviewer must confirm the block" : "Disagreement: a third reviewer will break the tie"),
      h("div", { class: "sub" }, "Audit entry #", String(r.audit_index)),
      h("div", { class: "row" }, h("button", { class: "btn primary", onclick: claimNext }, "Claim next ", kbd("N"))));
  }

  function renderItem() {
    const v = state.item;
    if (!v) return;
    const it = v.item;
    const listing = v.listing || {};
    const held = mine(v);
    const pending = it.status === "pending";
    const excluded = state.me && (it.excluded || []).includes(state.me.key_id);
    const leaseInfo = it.claimed_by
      ? (held ? ["Held by you · ", h("b", { id: "lease-left", data: { until: it.lease_until } }, left(it.lease_until).replace(" left", "")), " left"] : ["Held by ", h("code", {}, it.claimed_by)])
      : pending ? "Not claimed" : ["Closed ", ago(it.closed_at)];
    const decideBtn = (o, key) => h("button", { class: "btn " + o, id: "decide-" + o, disabled: !held, onclick: () => openDecide(o) }, o.charAt(0).toUpperCase() + o.slice(1), " ", kbd(key));
    page("queue",
      h("div", { class: "item-head" },
        h("button", { class: "btn back", onclick: () => go("#/queue") }, "← ", kbd("Esc")),
        h("div", {},
          h("h1", { id: "item-title" }, listing.title || it.title || (it.listing_id ? it.listing_id : "Appeal against a suspension")),
          h("div", { class: "meta" }, sevChip(it.severity), srcChip(it.source),
            h("span", { title: "the decision under review" }, verdictChip(v.decision ? v.decision.decision.verdict : "block")),
            it.outcome ? [h("span", { class: "sub" }, "→"), h("span", { title: "the reviewer's outcome" }, verdictChip(it.outcome))] : null,
            it.stage !== "first" ? h("span", { class: "chip four" }, it.stage === "second" ? "awaiting 2nd reviewer" : "tiebreak") : null,
            it.deadline && pending ? dueChip(it.deadline) : null,
            h("span", { class: "mono" }, it.listing_id || ""), v.version ? h("span", {}, "v" + v.version) : null,
            h("span", {}, "opened " + ago(it.created_at)), h("span", { class: "mono" }, "review " + short(it.review_id))))),
      h("div", { class: "actions" },
        pending ? h("button", { class: "btn primary", id: "claim", disabled: excluded || (it.claimed_by && !held), onclick: claim }, held ? "Extend lease " : "Claim ", kbd("c")) : null,
        pending && held ? [decideBtn("block", "b"), decideBtn("restrict", "r"), decideBtn("allow", "a"),
          h("button", { class: "btn", onclick: release }, "Release ", kbd("u"))] : null,
        excluded ? h("span", { class: "warn-box" }, "You decided this item or the decision appealed: another reviewer must.") : null,
        h("span", { class: "lease" }, leaseInfo)),
      renderResult(),
      renderDecide(v),
      h("div", { class: "grid" },
        h("div", { class: "col" },
          v.fields.length ? h("section", { class: "panel" }, h("h2", {}, "Listing as received", h("span", { class: "sub" }, "highlighted: the evidence")), h("div", { class: "body", id: "listing" }, renderFields(v))) : null,
          renderImages(v),
          renderNotices(v),
          renderHistory(v)),
        h("div", { class: "col" },
          h("section", { class: "panel" }, h("h2", {}, "Rules and legal basis"), h("div", { class: "body", id: "rules" }, renderRules(v),
            v.evidence.filter((e) => !e.located && !e.field.startsWith("images")).length
              ? [h("div", { class: "sub" }, "Other evidence:"), evidenceList(v, v.evidence.filter((e) => !e.located && !e.field.startsWith("images")).map((e) => e.index))] : null)),
          renderSeller(v),
          renderAudit(v))),
      h("div", { class: "foot" }, "Pack ", h("code", {}, state.me ? short(state.me.live_pack.replace("sha256:", "")) : ""), " · leases last ", String(v.lease_minutes), " min"));
    startTicker();
    const dec = document.getElementById("decide");
    if (dec) dec.scrollIntoView({ block: "nearest" });
  }

  async function claim() {
    const it = state.item.item;
    try {
      const lease = await api("POST", "/v1/reviews/" + encodeURIComponent(it.review_id) + "/claim");
      toast(lease.extended ? "Lease extended." : "Claimed: it is yours for " + state.item.lease_minutes + " minutes.");
      await showItem(it.review_id);
    } catch (e) {
      toast(e.message, true);
    }
  }

  async function release() {
    const it = state.item.item;
    try {
      await api("POST", "/v1/reviews/" + encodeURIComponent(it.review_id) + "/release");
      state.decide = null;
      toast("Released.");
      await showItem(it.review_id);
    } catch (e) {
      toast(e.message, true);
    }
  }

  function openDecide(outcome) {
    if (!state.item || !mine(state.item)) return toast("Claim the item first (c).", true);
    const reasons = reasonsFor(state.item, outcome);
    state.decide = { outcome, reason: reasons.length === 1 ? reasons[0].code : null, note: "", condition: null, error: null };
    state.result = null;
    renderItem();
  }

  async function submitDecision() {
    const d = state.decide;
    const it = state.item.item;
    if (!d || !d.reason) return;
    const body = { outcome: d.outcome, reason: d.reason };
    if (d.note && d.note.trim()) body.note = d.note.trim();
    if (d.outcome === "restrict" && d.condition) body.condition = d.condition;
    try {
      const r = await api("POST", "/v1/reviews/" + encodeURIComponent(it.review_id) + "/decision", body);
      state.decide = null;
      state.result = r;
      const stale = document.querySelector(".toast");
      if (stale) stale.remove();
      await showItem(it.review_id);
    } catch (e) {
      d.error = (e.field ? e.field + ": " : "") + e.message;
      renderItem();
    }
  }

  // ---- Notices, appeals, stats ---------------------------------------------
  async function showNotices() {
    try {
      const data = await api("GET", "/v1/notices?limit=200");
      const rows = data.notices.map((n) => {
        const d = n.deliveries[n.deliveries.length - 1];
        return h("tr", { class: n.review_id ? "row" : "", onclick: n.review_id ? () => go("#/item/" + n.review_id) : null },
          h("td", {}, srcChip(n.kind)),
          h("td", {}, h("div", {}, category(n.category)), h("div", { class: "sub" }, n.explanation.slice(0, 140))),
          h("td", { class: "mono" }, n.listing_id),
          h("td", {}, n.order ? [h("div", {}, n.order.authority), n.status === "open" ? dueChip(n.order.deadline) : h("span", { class: "sub" }, "deadline " + when(n.order.deadline))] : h("span", { class: "sub" }, n.flagger_id || (n.csam ? "anonymous" : n.notifier_name || ""))),
          h("td", {}, n.status === "open" ? h("span", { class: "chip review" }, n.merged_into ? "open · merged" : "open") : verdictChip(n.outcome)),
          h("td", {}, d ? [h("span", { class: "chip " + (d.status === "delivered" ? "allow" : d.status === "failed" ? "block" : "review") }, d.status), h("div", { class: "sub" }, d.attempts + " attempt(s)" + (d.last_error ? " · " + d.last_error : ""))] : h("span", { class: "sub" }, n.status === "open" ? "" : "no webhook")),
          h("td", { class: "sub" }, ago(n.received_at)));
      });
      page("notices", h("section", { class: "panel" }, h("h2", {}, "Notices and orders", h("span", { class: "sub" }, String(data.notices.length))),
        rows.length ? h("table", { class: "list", id: "notices" }, h("thead", {}, h("tr", {}, ["Kind", "Category", "Listing", "From / deadline", "Status", "Delivery", "Received"].map((t) => h("th", {}, t)))), h("tbody", {}, rows))
          : h("div", { class: "empty" }, "No notices yet.")));
      startTicker();
    } catch (e) {
      page("notices", h("div", { class: "error" }, e.message));
    }
  }

  async function showAppeals() {
    try {
      const data = await api("GET", "/v1/appeals?limit=200");
      const rows = data.appeals.map((a) => h("tr", { class: "row", onclick: () => go("#/item/" + a.review_id) },
        h("td", {}, h("span", { class: "chip appeal" }, a.subject)),
        h("td", { class: "mono" }, a.listing_id || ""),
        h("td", { class: "mono" }, a.seller_id),
        h("td", {}, a.explanation.slice(0, 160)),
        h("td", {}, a.status === "open" ? h("span", { class: "chip review" }, "open") : h("span", { class: "chip " + (a.outcome === "reversed" ? "allow" : "block") }, a.outcome)),
        h("td", { class: "sub" }, ago(a.received_at))));
      page("appeals", h("section", { class: "panel" }, h("h2", {}, "Appeals", h("span", { class: "sub" }, String(data.appeals.length))),
        rows.length ? h("table", { class: "list", id: "appeals" }, h("thead", {}, h("tr", {}, ["Against", "Listing", "Seller", "Explanation", "Status", "Received"].map((t) => h("th", {}, t)))), h("tbody", {}, rows))
          : h("div", { class: "empty" }, "No appeals yet.")));
    } catch (e) {
      page("appeals", h("div", { class: "error" }, e.message));
    }
  }

  async function showStats() {
    try {
      const s = await api("GET", "/v1/reviews/stats");
      page("stats",
        h("div", { class: "summary" }, h("div", { class: "stat" }, h("b", {}, String(s.appeals.decided)), "appeals decided"),
          h("div", { class: "stat" }, h("b", {}, (s.appeals.reversal_rate * 100).toFixed(1) + "%"), "reversed"),
          h("span", { class: "sub" }, "since " + when(s.since))),
        h("section", { class: "panel" }, h("h2", {}, "Accuracy per policy (people's outcomes against the automated verdict)"),
          s.policies.length ? h("table", { class: "list", id: "accuracy" }, h("thead", {}, h("tr", {}, ["Policy", "Decided", "Block", "Restrict", "Allow", "Overturned"].map((t) => h("th", {}, t)))),
            h("tbody", {}, s.policies.map((p) => h("tr", {}, h("td", {}, p.policy), h("td", {}, String(p.decided)), h("td", {}, String(p.blocked)), h("td", {}, String(p.restricted)), h("td", {}, String(p.allowed)),
              h("td", {}, h("span", { class: "bars" }, h("i", { style: null, data: { w: String(p.overturn_rate) } })), (p.overturn_rate * 100).toFixed(1) + "%")))))
            : h("div", { class: "empty" }, "No outcomes in this period.")),
        h("section", { class: "panel", style: null }, h("h2", {}, "Reviewers"),
          s.reviewers.length ? h("table", { class: "list" }, h("thead", {}, h("tr", {}, ["Reviewer", "Outcomes", "Closed", "Median time", "Per active hour"].map((t) => h("th", {}, t)))),
            h("tbody", {}, s.reviewers.map((r) => h("tr", {}, h("td", { class: "mono" }, r.reviewer), h("td", {}, String(r.outcomes)), h("td", {}, String(r.closed)), h("td", {}, dur(r.median_seconds * 1000)), h("td", {}, String(r.per_hour_active))))))
            : h("div", { class: "empty" }, "No outcomes in this period.")));
      for (const bar of document.querySelectorAll(".bars i")) bar.style.width = Math.min(100, Number(bar.dataset.w) * 100) + "%";
    } catch (e) {
      page("stats", h("div", { class: "error" }, e.message));
    }
  }

  function renderHelp() {
    const rows = [
      ["q  n  p  s", "queue, notices, appeals, accuracy"],
      ["j / k  ↓ / ↑", "move in the queue"],
      ["Enter", "open the selected item"],
      ["N", "claim the next item (with the filters)"],
      ["r", "refresh the queue"],
      ["c", "claim the item, or extend your lease"],
      ["b  r  a", "block, restrict, allow (on a held item)"],
      ["1 … 9", "choose a reason"],
      ["Ctrl+Enter", "confirm the outcome"],
      ["u", "release the item"],
      ["Esc", "close the panel, back to the queue"],
    ];
    const close = () => { state.help = false; const o = document.querySelector(".overlay"); if (o) o.remove(); };
    document.body.appendChild(h("div", { class: "overlay", onclick: close },
      h("div", { class: "help", onclick: (e) => e.stopPropagation() }, h("h3", {}, "Keyboard shortcuts"),
        h("table", {}, rows.map(([k, t]) => h("tr", {}, h("td", {}, k.split("  ").map((x) => [kbd(x), " "])), h("td", {}, t)))),
        h("p", {}, h("button", { class: "btn", onclick: close }, "Close ", kbd("Esc"))))));
  }

  // ---- Keyboard --------------------------------------------------------------
  document.addEventListener("keydown", (ev) => {
    if (!state.key) return;
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement && document.activeElement.tagName);
    const route = location.hash || "#/queue";
    if (ev.key === "Escape") {
      if (state.help) { state.help = false; const o = document.querySelector(".overlay"); if (o) o.remove(); return; }
      if (state.decide) { state.decide = null; renderItem(); return; }
      if (typing) { document.activeElement.blur(); return; }
      if (route.startsWith("#/item/")) go("#/queue");
      return;
    }
    if (state.decide && ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); submitDecision(); return; }
    if (typing || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (ev.key === "?") { state.help = true; renderHelp(); return; }
    if (ev.key === "q") return go("#/queue");
    if (ev.key === "n") return go("#/notices");
    if (ev.key === "p") return go("#/appeals");
    if (ev.key === "s") return go("#/stats");
    if (ev.key === "N") { claimNext(); return; }
    if (route === "#/queue" || route === "#/" || route === "") {
      if (ev.key === "j" || ev.key === "ArrowDown") { state.sel = Math.min(state.items.length - 1, state.sel + 1); renderQueue(); ev.preventDefault(); }
      else if (ev.key === "k" || ev.key === "ArrowUp") { state.sel = Math.max(0, state.sel - 1); renderQueue(); ev.preventDefault(); }
      else if (ev.key === "Enter" && state.items[state.sel]) go("#/item/" + state.items[state.sel].review_id);
      else if (ev.key === "r") showQueue();
      return;
    }
    if (route.startsWith("#/item/") && state.item) {
      if (state.decide && /^[1-9]$/.test(ev.key)) {
        const reasons = reasonsFor(state.item, state.decide.outcome);
        const r = reasons[Number(ev.key) - 1];
        if (r) { state.decide.reason = r.code; renderItem(); }
        return;
      }
      if (ev.key === "c") claim();
      else if (ev.key === "u") release();
      else if (ev.key === "b") openDecide("block");
      else if (ev.key === "r") openDecide("restrict");
      else if (ev.key === "a") openDecide("allow");
    }
  });

  // ---- Routing ---------------------------------------------------------------
  async function route() {
    if (!state.key) return renderLogin();
    if (!state.me) {
      try { state.me = await api("GET", "/v1/me"); } catch (e) { return renderLogin(e.message); }
    }
    const hash = location.hash || "#/queue";
    const m = hash.match(/^#\/item\/([^/]+)$/);
    if (m) {
      if (!state.item || state.item.item.review_id !== decodeURIComponent(m[1])) { state.decide = null; state.result = null; }
      return showItem(decodeURIComponent(m[1]));
    }
    state.decide = null;
    state.result = null;
    state.item = null;
    if (hash === "#/notices") return showNotices();
    if (hash === "#/appeals") return showAppeals();
    if (hash === "#/stats") return showStats();
    return showQueue();
  }
  window.addEventListener("hashchange", route);
  route();
})();
