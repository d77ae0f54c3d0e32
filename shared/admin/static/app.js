// RoomCal admin page: sign-in gate, tabs (hash routes), and one view per tab.
import * as api from "./api.js";
import { h } from "./ui.js";
import { renderSetup } from "./setup.js";
import { renderRooms } from "./rooms.js";
import { renderStatus } from "./status.js";
import { renderAnalytics } from "./analytics.js";
import { renderSettings } from "./settings.js";

const VIEWS = { setup: renderSetup, rooms: renderRooms, status: renderStatus, analytics: renderAnalytics,
  settings: renderSettings };
const TITLES = { setup: "Setup", rooms: "Rooms", status: "Live status", analytics: "Analytics", settings: "Settings" };
let session = null;
let cleanup = null;

async function start() {
  session = await api.me().catch(() => null);
  const who = document.getElementById("who");
  if (!session) {
    showSignIn();
    return;
  }
  const role = session.can_change ? "admin" : session.can_read ? "reader" : "no RoomCal role";
  const out = h("button", { type: "button", class: "secondary" }, "Sign out");
  out.addEventListener("click", async () => { await api.signOut(); location.replace("/api/portal"); });
  who.replaceChildren(h("span", {}, session.name || session.username), h("span", { class: "muted" },
    `${role} · tenant ${session.tenant_id}`), out);
  document.getElementById("tabs").hidden = false;
  window.addEventListener("hashchange", route);
  route();
}

function showSignIn() {
  const params = new URLSearchParams(location.search);
  document.getElementById("main").replaceChildren(h("section", { class: "card signin" },
    h("h1", {}, "Sign in to RoomCal"),
    h("p", {}, "Sign in with your Microsoft 365 work account. You will see and manage only your own organisation."),
    params.get("error") ? h("div", { class: "notice error", role: "alert" }, params.get("error")) : null,
    h("a", { class: "button", href: "/api/auth/signin", id: "signin" }, "Sign in with Microsoft")));
}

function route() {
  const name = (location.hash || "#setup").slice(1).split("?")[0];
  const tab = VIEWS[name] ? name : "setup";
  for (const link of document.querySelectorAll("#tabs a")) {
    if (link.dataset.tab === tab) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (cleanup) cleanup();
  cleanup = null;
  document.title = `${TITLES[tab]} · RoomCal admin`;
  const main = document.getElementById("main");
  main.replaceChildren(h("h1", {}, TITLES[tab]));
  const view = h("div", {});
  main.append(view);
  Promise.resolve(VIEWS[tab](view, session)).then((stop) => { cleanup = typeof stop === "function" ? stop : null; });
  main.focus({ preventScroll: true });
}

start();
