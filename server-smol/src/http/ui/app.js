// sansmail web UI: plain JavaScript, no build step, no third-party code.
// Every piece of mail data reaches the page through textContent or an
// attribute, never innerHTML; HTML parts are shown only inside a sandboxed
// iframe served with its own Content-Security-Policy.
"use strict";

const PAGE = 50;
const state = {
  session: null,     // {user, admin, auth, csrf}
  users: [],         // accounts this session may read
  user: null,        // the account shown
  mailbox: "INBOX",
  mailboxes: [],
  offset: 0,
  total: 0,
  query: "",
  messages: [],
  current: null,     // detail of the open message
  remote: false,
};

const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) node.append(c);
  return node;
}

async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (method !== "GET" && state.session && state.session.csrf) {
    headers["X-CSRF-Token"] = state.session.csrf;
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) { showLogin(); throw new Error("not signed in"); }
  if (!res.ok) {
    let msg = res.statusText;
    try { msg = (await res.json()).error || msg; } catch (_) { /* not JSON */ }
    throw new Error(msg);
  }
  if (res.status === 204) return null;
  return res.json();
}

function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 3000);
}

// ---- session ------------------------------------------------------------

async function start() {
  const res = await fetch("/ui/session", { credentials: "same-origin" });
  const s = res.ok ? await res.json() : null;
  if (!s || (!s.user && !s.admin)) return showLogin();
  state.session = s;
  $("login").hidden = true;
  $("app").hidden = false;
  $("who").textContent = s.user || (s.auth === "none" ? "all accounts" : "administrator");
  $("logout").hidden = s.auth === "none";
  if (s.user) {
    state.users = [s.user];
  } else {
    const u = await api("GET", "/api/v1/users");
    state.users = u.users.map((x) => x.address);
  }
  state.user = state.users[0] || null;
  await loadMailboxes();
  await loadList();
  listen();
}

function showLogin(error) {
  $("app").hidden = true;
  $("login").hidden = false;
  const e = $("login-error");
  e.hidden = !error;
  e.textContent = error || "";
  $("address").focus();
}

async function login(body) {
  const res = await fetch("/ui/login", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "Accept": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) {
    let msg = "Wrong address or password";
    try { msg = (await res.json()).error || msg; } catch (_) { /* keep */ }
    return showLogin(msg);
  }
  $("password").value = "";
  $("token").value = "";
  await start();
}

// ---- folders and list ---------------------------------------------------

async function loadMailboxes() {
  const nav = $("sidebar");
  nav.replaceChildren();
  for (const user of state.users) {
    const group = el("div", { class: "account" });
    if (state.users.length > 1 || !state.session.user) {
      group.append(el("h2", { class: "account-name", text: user }));
    }
    const ul = el("ul", { class: "folders" });
    let boxes = [];
    try {
      boxes = (await api("GET", "/api/v1/mailboxes?user=" + encodeURIComponent(user))).mailboxes;
    } catch (e) { toast(e.message); }
    if (user === state.user) state.mailboxes = boxes;
    for (const mb of boxes) {
      const current = user === state.user && mb.name === state.mailbox;
      const a = el("a", {
        href: "#", class: "folder" + (current ? " current" : ""),
        "aria-current": current ? "page" : null,
        title: mb.name,
        onclick: (ev) => { ev.preventDefault(); openMailbox(user, mb.name); },
      }, el("span", { class: "folder-name", text: mb.name }));
      if (mb.unseen > 0) a.append(el("span", { class: "badge", text: String(mb.unseen), "aria-label": mb.unseen + " unread" }));
      ul.append(el("li", {}, a));
    }
    group.append(ul);
    nav.append(group);
  }
  const move = $("act-move");
  move.replaceChildren(el("option", { value: "", text: "Move to…" }));
  for (const mb of state.mailboxes) move.append(el("option", { value: mb.name, text: mb.name }));
}

function openMailbox(user, name) {
  state.user = user;
  state.mailbox = name;
  state.offset = 0;
  closeView();
  loadMailboxes();
  loadList();
}

function searchParams() {
  const p = new URLSearchParams();
  if (state.user) p.set("user", state.user);
  if (!state.query) p.set("mailbox", state.mailbox);
  p.set("limit", String(PAGE));
  p.set("offset", String(state.offset));
  // "from:x to:y subject:z rest" -> the API's filters; the rest is text.
  const rest = [];
  for (const word of state.query.match(/(?:[^\s"]+|"[^"]*")+/g) || []) {
    const m = word.match(/^(from|to|subject):(.*)$/i);
    const v = (m ? m[2] : word).replace(/^"|"$/g, "");
    if (m) p.set(m[1].toLowerCase(), v); else rest.push(v);
  }
  if (rest.length) p.set("text", rest.join(" "));
  return p;
}

async function loadList() {
  if (!state.user) {
    $("list").replaceChildren(el("li", { class: "empty", text: "No accounts yet." }));
    return;
  }
  let res;
  try { res = await api("GET", "/api/v1/messages?" + searchParams()); }
  catch (e) { return toast(e.message); }
  state.messages = res.messages;
  state.total = res.total;
  renderList();
}

function renderList() {
  $("list-title").textContent = state.query ? "Search" : state.mailbox;
  $("list-count").textContent = state.total + (state.total === 1 ? " message" : " messages");
  const list = $("list");
  list.replaceChildren();
  if (state.messages.length === 0) {
    list.append(el("li", { class: "empty", text: state.query ? "Nothing matches." : "No messages." }));
  }
  for (const m of state.messages) list.append(row(m));
  const last = Math.min(state.offset + PAGE, state.total);
  $("page").textContent = state.total ? (state.offset + 1) + "–" + last + " of " + state.total : "";
  $("prev").disabled = state.offset === 0;
  $("next").disabled = last >= state.total;
}

function row(m) {
  const unread = !m.flags.includes("\\Seen");
  const flagged = m.flags.includes("\\Flagged");
  const current = state.current && state.current.id === m.id;
  const li = el("li", {
    class: "row" + (unread ? " unread" : "") + (current ? " current" : ""),
    tabindex: "-1", "data-id": m.id,
    onclick: () => openMessage(m.id),
    onkeydown: (ev) => { if (ev.key === "Enter") openMessage(m.id); },
  });
  li.append(
    el("span", { class: "from", text: m.from || "(no sender)" }),
    el("span", { class: "subject", text: m.subject || "(no subject)" }),
    el("time", { class: "date", datetime: m.received, text: shortDate(m.date || m.received) }),
  );
  if (flagged) li.append(el("span", { class: "flag", "aria-label": "flagged", text: "★" }));
  if (unread) li.append(el("span", { class: "visually-hidden", text: " (unread)" }));
  return li;
}

function shortDate(value) {
  const d = new Date(value);
  if (isNaN(d)) return value || "";
  const now = new Date();
  return d.toDateString() === now.toDateString()
    ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : d.toLocaleDateString([], { year: "numeric", month: "short", day: "numeric" });
}

// ---- one message --------------------------------------------------------

async function openMessage(id) {
  let m;
  try { m = await api("GET", "/api/v1/messages/" + encodeURIComponent(id)); }
  catch (e) { return toast(e.message); }
  state.current = m;
  state.remote = false;
  $("view").hidden = false;
  $("empty-view").hidden = true;
  document.body.classList.add("reading");
  $("m-subject").textContent = m.subject || "(no subject)";
  const header = (name) => {
    const h = (m.headers || []).find(([n]) => n.toLowerCase() === name);
    return h ? h[1] : null;
  };
  // The From field as written (display name and address), always as text.
  $("m-from").textContent = header("from") || m.from || "";
  $("m-to").textContent = (m.to || []).join(", ");
  const cc = (m.cc || []).join(", ");
  for (const n of document.querySelectorAll(".cc")) n.hidden = !cc;
  $("m-cc").textContent = cc;
  $("m-date").textContent = m.date || m.received || "";
  const tbody = $("m-headers");
  tbody.replaceChildren();
  for (const [name, value] of m.headers || []) {
    tbody.append(el("tr", {}, el("th", { scope: "row", text: name }), el("td", { text: value })));
  }
  $("pane-text").textContent = m.text || "";
  $("act-eml").href = "/api/v1/messages/" + encodeURIComponent(m.id) + "/raw?download=1";
  $("act-eml").setAttribute("download", (m.subject || "message").replace(/[^\w.-]+/g, "_").slice(0, 60) + ".eml");
  const att = $("m-attachments");
  att.replaceChildren();
  for (const a of m.attachments || []) {
    const href = "/api/v1/messages/" + encodeURIComponent(m.id) + "/parts/" + encodeURIComponent(a.part) + "?download=1";
    att.append(el("li", {},
      el("a", { href, download: a.filename || "attachment", title: "Download " + (a.filename || "attachment") , text: a.filename || "attachment" }),
      el("span", { class: "muted", text: " " + (a.content_type || "") + ", " + size(a.size) })));
  }
  $("attachments").hidden = !(m.attachments && m.attachments.length);
  // Opening marks it read, as every mail client does (before the HTML
  // part loads, so its request sees the message's new name).
  if (!m.flags.includes("\\Seen")) await setFlags({ seen: true }, true);
  showTab(m.html ? "html" : "text");
  updateActions();
  for (const r of document.querySelectorAll(".row")) r.classList.toggle("current", r.dataset.id === m.id);
}

function size(n) {
  if (n < 1024) return n + " B";
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KB";
  return (n / 1024 / 1024).toFixed(1) + " MB";
}

function showTab(which) {
  const m = state.current;
  for (const t of ["html", "text", "headers", "raw"]) {
    const on = t === which;
    $("tab-" + t).setAttribute("aria-selected", on ? "true" : "false");
    $("pane-" + t).hidden = !on;
  }
  $("tab-html").hidden = !m.html;
  $("remote-bar").hidden = !(which === "html" && m.html && !state.remote);
  if (which === "html") {
    const frame = $("m-html");
    frame.src = "/api/v1/messages/" + encodeURIComponent(m.id) + "/html" + (state.remote ? "?remote=1" : "");
  }
  if (which === "raw" && !$("pane-raw").dataset.loaded) loadRaw();
}

async function loadRaw() {
  const m = state.current;
  const res = await fetch("/api/v1/messages/" + encodeURIComponent(m.id) + "/raw", { credentials: "same-origin" });
  $("pane-raw").textContent = res.ok ? await res.text() : "(source not available)";
  $("pane-raw").dataset.loaded = "1";
}

function updateActions() {
  const f = state.current.flags;
  const seen = f.includes("\\Seen");
  const flagged = f.includes("\\Flagged");
  $("act-seen").textContent = seen ? "Mark unread" : "Mark read";
  $("act-seen").title = seen ? "Mark as unread" : "Mark as read";
  $("act-flag").textContent = flagged ? "Unflag" : "Flag";
  $("act-flag").title = flagged ? "Remove the flag" : "Flag";
  $("act-move").value = "";
}

async function setFlags(change, quiet) {
  const m = state.current;
  try {
    const res = await api("PATCH", "/api/v1/messages/" + encodeURIComponent(m.id), change);
    if (res && res.flags) m.flags = res.flags;
    updateActions();
    await Promise.all([loadList(), loadMailboxes()]);
  } catch (e) { if (!quiet) toast(e.message); }
}

async function moveTo(name) {
  const m = state.current;
  if (!name) return;
  try {
    await api("PATCH", "/api/v1/messages/" + encodeURIComponent(m.id), { mailbox: name });
    toast("Moved to " + name);
    closeView();
    await Promise.all([loadList(), loadMailboxes()]);
  } catch (e) { toast(e.message); }
}

async function remove() {
  const m = state.current;
  try {
    await api("DELETE", "/api/v1/messages/" + encodeURIComponent(m.id));
    toast("Deleted");
    closeView();
    await Promise.all([loadList(), loadMailboxes()]);
  } catch (e) { toast(e.message); }
}

function closeView() {
  state.current = null;
  $("view").hidden = true;
  $("empty-view").hidden = false;
  $("pane-raw").textContent = "";
  delete $("pane-raw").dataset.loaded;
  $("m-html").removeAttribute("src");
  document.body.classList.remove("reading");
}

// ---- live updates -------------------------------------------------------

function listen() {
  if (listen.source) listen.source.close();
  const src = new EventSource("/api/v1/events");
  listen.source = src;
  src.addEventListener("message", (ev) => {
    let m;
    try { m = JSON.parse(ev.data); } catch (_) { return; }
    if (!state.users.includes(m.user)) return;
    loadMailboxes();
    if (m.user === state.user && state.offset === 0) loadList();
  });
}

// ---- wiring ---------------------------------------------------------------

function keyboard(ev) {
  if (ev.target.closest("input, select, textarea")) return;
  const rows = [...document.querySelectorAll(".row")];
  const i = rows.findIndex((r) => r.classList.contains("current"));
  if (ev.key === "j" || ev.key === "ArrowDown") {
    const next = rows[Math.min(i + 1, rows.length - 1)];
    if (next) { next.focus(); openMessage(next.dataset.id); ev.preventDefault(); }
  } else if (ev.key === "k" || ev.key === "ArrowUp") {
    const prev = rows[Math.max(i - 1, 0)];
    if (prev) { prev.focus(); openMessage(prev.dataset.id); ev.preventDefault(); }
  } else if (ev.key === "/") {
    $("q").focus(); ev.preventDefault();
  } else if (ev.key === "Escape") {
    closeView();
  } else if (ev.key === "Delete" && state.current) {
    remove();
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    login({ address: $("address").value, password: $("password").value });
  });
  $("token-login").addEventListener("click", () => login({ token: $("token").value }));
  $("logout").addEventListener("click", async () => {
    await api("POST", "/ui/logout").catch(() => {});
    state.session = null;
    if (listen.source) listen.source.close();
    showLogin();
  });
  $("search").addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.query = $("q").value.trim();
    state.offset = 0;
    closeView();
    loadList();
  });
  $("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); loadList(); });
  $("next").addEventListener("click", () => { state.offset += PAGE; loadList(); });
  $("back").addEventListener("click", closeView);
  $("act-seen").addEventListener("click", () => setFlags({ seen: !state.current.flags.includes("\\Seen") }));
  $("act-flag").addEventListener("click", () => setFlags({ flagged: !state.current.flags.includes("\\Flagged") }));
  $("act-move").addEventListener("change", (ev) => moveTo(ev.target.value));
  $("act-delete").addEventListener("click", remove);
  $("remote-load").addEventListener("click", () => { state.remote = true; showTab("html"); });
  for (const t of ["html", "text", "headers", "raw"]) $("tab-" + t).addEventListener("click", () => showTab(t));
  document.addEventListener("keydown", keyboard);
  start();
});
