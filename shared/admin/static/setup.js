// The setup wizard, as the product articles describe it: sign in → Add tenant → Microsoft consent →
// Exchange RBAC → rooms → Continue setup (live progress) → Synchronize. Each step's state comes from the API,
// so the wizard can be left and resumed at any time.
import * as api from "./api.js";
import { announce, busy, copyButton, errorNotice, field, h, nextId, statusBadge, table } from "./ui.js";

export async function renderSetup(view, me) {
  const tid = me.tenant_id;
  let timer = null;
  const state = await loadState(tid);
  const domain = (me.username.split("@")[1] || "contoso.com").toLowerCase();
  const steps = [
    step("Sign in", true, h("p", {}, `Signed in as ${me.username} (organisation ${tid}).`)),
    addTenantStep(state, me),
    rbacStep(state, tid, domain),
    roomsStep(state, tid, me),
    verifyStep(state, tid, me, (t) => { timer = t; }),
    syncStep(state, tid, me),
  ];
  const current = steps.findIndex((s) => !s.done);
  steps.forEach((s, i) => s.el.classList.add(i === current ? "current" : s.done ? "done" : "todo"));
  view.replaceChildren(h("p", {}, "Connect your Microsoft 365 organisation in the order below. You can leave and come back:"
    + " every step remembers where you are."), h("ol", { class: "steps" }, steps.map((s) => s.el)));
  return () => clearInterval(timer);
}

async function loadState(tid) {
  const state = { tenant: null, rooms: null, progress: null };
  try {
    state.tenant = await api.get(api.tenantPath(tid));
  } catch (error) {
    if (error.status !== 404) state.error = error;
  }
  if (state.tenant && ["consented", "active"].includes(state.tenant.status)) {
    state.rooms = await api.get(api.tenantPath(tid, "/rooms")).catch(() => null);
    state.progress = await api.get(api.tenantPath(tid, "/verify")).catch(() => null);
  }
  return state;
}

function step(title, done, ...content) {
  const headingId = nextId("step");
  const el = h("li", { class: "step", "aria-labelledby": headingId },
    h("h2", { id: headingId }, title, done ? h("span", { class: "badge ok" }, "done") : null), ...content);
  return { el, done };
}

function connected(state) {
  return state.tenant && ["consented", "active"].includes(state.tenant.status);
}

function addTenantStep(state, me) {
  const out = h("div", {});
  const offboarded = state.tenant && state.tenant.status === "offboarded";
  const button = h("button", { type: "button", id: "add-tenant" }, offboarded ? "Connect again" : "Add tenant");
  button.addEventListener("click", () => busy(button, api.send("POST", "/api/session/tenants",
    offboarded ? { reonboard: true } : {}).then((links) => {
    out.replaceChildren(consentLinks(links));
    announce("Consent link ready");
  }).catch((e) => out.replaceChildren(errorNotice(e)))));
  const done = connected(state);
  const body = done
    ? h("p", {}, "RoomCal is installed in your organisation ", statusBadge(state.tenant.status), ".")
    : h("div", {}, h("p", {}, "A Microsoft admin (Global, Application or Cloud Application Administrator) installs "
        + "RoomCal by admin consent. RoomCal gets no calendar access from this step."),
      offboarded ? h("p", { class: "notice info" }, "This organisation was offboarded. Connecting it again is a deliberate step.") : null,
      h("div", { class: "actions" }, me.can_change || !state.tenant ? button : h("p", { class: "muted" }, "Needs the RoomCal.Admin role.")),
      out);
  return step("Add tenant and give Microsoft admin consent", done, body);
}

function consentLinks(links) {
  const messageId = nextId("msg");
  const message = h("textarea", { id: messageId, readonly: true, rows: 9 }, links.request_consent.message);
  return h("div", {},
    h("p", {}, "If you are a Microsoft admin, give consent now. You come back here afterwards."),
    h("div", { class: "actions" }, h("a", { class: "button", href: links.consent_url, id: "consent-link" },
      "Give admin consent at Microsoft")),
    h("h3", {}, "Not a Microsoft admin? Send this request"),
    h("label", { for: messageId }, "Message with a one-time consent link for your Microsoft admin"), message,
    h("div", { class: "actions" }, copyButton("Copy request", () => links.request_consent.message),
      copyButton("Copy link only", () => links.request_consent.url)),
    h("p", { class: "muted" }, `Both links work once and are valid until ${new Date(links.expires_at).toLocaleString()}; `
      + "they complete only for your organisation."));
}

function rbacStep(state, tid, domain) {
  const done = Boolean(state.progress && state.progress.by_reason && state.progress.by_reason.ready);
  if (!connected(state)) return step("Limit RoomCal to room mailboxes (Exchange RBAC)", false,
    h("p", { class: "muted" }, "Available after admin consent."));
  const group = h("input", { type: "email", value: `roomcal-rooms@${domain}`, autocomplete: "off", size: 34 });
  const country = h("input", { type: "text", value: "", maxlength: 2, size: 4, pattern: "[A-Za-z]{2}",
    placeholder: "NL", disabled: true });
  const role = h("select", {}, h("option", { value: "readwrite" }, "Read and decline (needed for no-show release)"),
    h("option", { value: "read" }, "Read only"));
  const name = nextId("scope");
  const byGroup = h("input", { type: "radio", name, value: "group", checked: true });
  const byCountry = h("input", { type: "radio", name, value: "country" });
  const toggle = () => { group.disabled = !byGroup.checked; country.disabled = !byCountry.checked; };
  byGroup.addEventListener("change", toggle);
  byCountry.addEventListener("change", toggle);
  const out = h("div", {});
  const generate = h("button", { type: "button", id: "rbac-generate" }, "Generate PowerShell");
  generate.addEventListener("click", () => {
    const query = new URLSearchParams({ scope: byGroup.checked ? "group" : "country", role: role.value });
    if (byGroup.checked) query.set("group", group.value.trim());
    else query.set("country", country.value.trim().toUpperCase());
    busy(generate, api.get(api.tenantPath(tid, `/rbac-script?${query}`), { text: true }).then((script) => {
      const blob = URL.createObjectURL(new Blob(["\ufeff" + script], { type: "text/plain" }));
      out.replaceChildren(
        h("p", {}, "An Exchange admin runs this in PowerShell (Exchange Online module). Exchange can take 30 minutes to "
          + "2 hours to apply it."),
        h("pre", { class: "script", tabindex: "0", "aria-label": "Generated PowerShell script", id: "rbac-script" },
          h("code", {}, script)),
        h("div", { class: "actions" }, copyButton("Copy script", () => script),
          h("a", { class: "button secondary", href: blob, download: `Grant-RoomCalAccess-${tid}.ps1` }, "Download .ps1")));
      announce("PowerShell script generated");
    }).catch((e) => out.replaceChildren(errorNotice(e))));
  });
  return step("Limit RoomCal to room mailboxes (Exchange RBAC)", done,
    h("p", {}, "RoomCal reads only the mailboxes in an Exchange management scope. Choose how the scope finds your rooms:"),
    h("fieldset", {}, h("legend", {}, "Scope"),
      h("label", { class: "inline" }, byGroup, "Members of a mail-enabled security group"),
      field("Group e-mail address", group),
      h("label", { class: "inline" }, byCountry, "Room mailboxes in one country"),
      field("Country code (ISO, two letters)", country)),
    field("Permission", role),
    h("div", { class: "actions" }, generate), out);
}

function roomsStep(state, tid, me) {
  const count = state.rooms ? state.rooms.rooms.length : 0;
  if (!connected(state)) return step("Choose the rooms", false, h("p", { class: "muted" }, "Available after admin consent."));
  const out = h("div", {});
  const importButton = h("button", { type: "button", id: "import-places", disabled: !me.can_change },
    "Import rooms from Microsoft 365");
  importButton.addEventListener("click", () => busy(importButton, api.send("POST", api.tenantPath(tid, "/rooms/import"))
    .then((r) => { out.replaceChildren(h("p", { class: "notice ok" }, `${r.added.length} rooms added, ${r.updated.length} updated.`));
      announce("Rooms imported"); })
    .catch((e) => out.replaceChildren(errorNotice(e)))));
  return step("Choose the rooms", count > 0,
    h("p", {}, count ? `${count} rooms registered. ` : "No rooms yet. ",
      "Import the room mailboxes Microsoft 365 lists (/places), or register them by e-mail or CSV on the ",
      h("a", { href: "#rooms" }, "Rooms"), " tab."),
    h("div", { class: "actions" }, importButton), out);
}

function verifyStep(state, tid, me, setTimer) {
  const progress = state.progress;
  if (!connected(state)) return step("Continue setup: check access to every room", false,
    h("p", { class: "muted" }, "Available after admin consent."));
  const bar = h("progress", { max: 1, value: 0, "aria-label": "Rooms checked" });
  const text = h("p", { "aria-live": "polite" });
  const reasons = h("div", {});
  const show = (p) => {
    bar.max = Math.max(p.total, 1);
    bar.value = p.verified;
    text.textContent = `${p.verified} of ${p.total} rooms checked${p.done ? " — done." : "…"}`;
    reasons.replaceChildren(table({ caption: "Result by reason", columns: [{ label: "Reason", key: "reason" },
      { label: "Rooms", key: "n", num: true }], rows: Object.entries(p.by_reason || {}).map(([reason, n]) => ({ reason: reason.replaceAll("_", " "), n })) }),
      ...(p.warnings || []).map((w) => h("p", { class: "notice error" }, w)));
  };
  const poll = () => {
    const timer = setInterval(async () => {
      try {
        const p = await api.get(api.tenantPath(tid, "/verify"));
        show(p);
        if (p.done) { clearInterval(timer); announce("Continue setup finished"); }
      } catch (e) { clearInterval(timer); reasons.replaceChildren(errorNotice(e)); }
    }, 1000);
    setTimer(timer);
  };
  const run = h("button", { type: "button", id: "continue-setup", disabled: !me.can_change }, "Continue setup");
  run.addEventListener("click", () => busy(run, api.send("POST", api.tenantPath(tid, "/verify")).then((p) => {
    show({ ...p, verified: 0, by_reason: {} });
    poll();
  }).catch((e) => reasons.replaceChildren(errorNotice(e)))));
  if (progress) {
    show(progress);
    if (!progress.done) poll();
  } else {
    text.textContent = "Not checked yet.";
  }
  return step("Continue setup: check access to every room", Boolean(progress && progress.done),
    h("p", {}, "RoomCal checks each room live against Microsoft Graph and says why any room cannot be synced."),
    h("div", { class: "actions" }, run), bar, text, reasons);
}

function syncStep(state, tid, me) {
  const active = state.tenant && state.tenant.status === "active";
  if (!connected(state)) return step("Synchronize room calendars", false, h("p", { class: "muted" }, "Available after admin consent."));
  const out = h("div", {});
  const button = h("button", { type: "button", id: "synchronize", disabled: !me.can_change }, "Synchronize room calendars");
  button.addEventListener("click", () => busy(button, api.send("POST", api.tenantPath(tid, "/sync")).then((r) => {
    out.replaceChildren(h("p", { class: "notice ok" }, `${r.queued.length} rooms are being synchronised; `
      + `${r.not_ready.length} are not ready (see `, h("a", { href: "#rooms" }, "Rooms"), ")."));
    announce("Synchronisation started");
  }).catch((e) => out.replaceChildren(errorNotice(e)))));
  return step("Synchronize room calendars", active,
    h("p", {}, active ? "RoomCal keeps your rooms' calendars in sync through Microsoft Graph change notifications. "
      + "Run it again after adding rooms." : "Hands every verified room to the sync engine."),
    h("div", { class: "actions" }, button), out);
}
