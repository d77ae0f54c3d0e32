// Rooms: synced or not (with the reason and the fix), last sync, subscription expiry, sensor link;
// register by e-mail, CSV import with per-row errors, import from /places, remove.
import * as api from "./api.js";
import { announce, busy, errorNotice, field, h, statusBadge, table, when } from "./ui.js";

export async function renderRooms(view, me) {
  const tid = me.tenant_id;
  const messages = h("div", { "aria-live": "polite" });
  const list = h("div", {});
  const reload = async () => {
    try {
      const listing = await api.get(api.tenantPath(tid, "/rooms"));
      list.replaceChildren(summary(listing.counts), roomTable(listing.rooms, tid, me, messages, reload));
    } catch (e) {
      list.replaceChildren(errorNotice(e));
    }
  };
  view.replaceChildren(messages, me.can_change ? addForms(tid, messages, reload) : h("p", { class: "muted" },
    "You can look, not change: changing rooms needs the RoomCal.Admin role."), list);
  await reload();
}

function summary(counts) {
  return h("div", { class: "kpis" }, Object.entries(counts).map(([status, n]) =>
    h("div", { class: "kpi" }, h("div", { class: "value" }, n), statusBadge(status))));
}

function roomTable(rooms, tid, me, messages, reload) {
  const sorted = [...rooms].sort((a, b) => (a.sync_status === b.sync_status ? a.email.localeCompare(b.email)
    : a.sync_status === "not_synced" ? -1 : b.sync_status === "not_synced" ? 1 : a.sync_status.localeCompare(b.sync_status)));
  return table({
    caption: `${rooms.length} registered rooms`,
    empty: "No rooms registered yet.",
    rows: sorted,
    columns: [
      { label: "Room", cell: (r) => r.display_name
        ? h("span", {}, r.display_name, h("br"), h("span", { class: "muted" }, r.email)) : r.email },
      { label: "Status", cell: (r) => statusBadge(r.sync_status) },
      { label: "Reason and fix", class: "reason", cell: (r) => r.sync_status === "synced" ? "—"
        : h("span", {}, r.reason || "", r.fix ? h("span", { class: "muted" }, h("br"), "Fix: ", r.fix) : null) },
      { label: "Last sync", cell: (r) => when(r.last_sync_at) },
      { label: "Subscription expires", cell: (r) => when(r.subscription_expires_at) },
      { label: "Capacity", key: "capacity", num: true },
      { label: "Sensor", cell: (r) => me.can_change ? sensorEditor(r, tid, messages) : r.sensor_id || "—" },
      { label: "Actions", cell: (r) => me.can_change ? removeButton(r, tid, messages, reload) : "—" },
    ],
  });
}

function sensorEditor(room, tid, messages) {
  const input = h("input", { type: "text", value: room.sensor_id || "", size: 10, "aria-label": `Sensor id of ${room.email}`,
    pattern: "[A-Za-z0-9._:@-]+" });
  const save = h("button", { type: "button", class: "secondary", "aria-label": `Save sensor of ${room.email}` }, "Save");
  save.addEventListener("click", () => busy(save, api.send("PATCH", api.tenantPath(tid, `/rooms/${encodeURIComponent(room.email)}`),
    { sensor_id: input.value.trim() || null })
    .then(() => { messages.replaceChildren(h("p", { class: "notice ok" }, `Sensor of ${room.email} saved.`)); announce("Saved"); })
    .catch((e) => messages.replaceChildren(errorNotice(e)))));
  return h("span", { class: "actions" }, input, save);
}

function removeButton(room, tid, messages, reload) {
  const button = h("button", { type: "button", class: "secondary", "aria-label": `Remove ${room.email}` }, "Remove");
  button.addEventListener("click", () => {
    if (!window.confirm(`Remove ${room.email}? Its synced calendar data is deleted.`)) return;
    busy(button, api.send("DELETE", api.tenantPath(tid, `/rooms/${encodeURIComponent(room.email)}`))
      .then(() => { messages.replaceChildren(h("p", { class: "notice ok" }, `${room.email} removed.`)); return reload(); })
      .catch((e) => messages.replaceChildren(errorNotice(e))));
  });
  return button;
}

function addForms(tid, messages, reload) {
  const email = h("input", { type: "email", required: true, autocomplete: "off", size: 30, placeholder: "room1@contoso.com" });
  const capacity = h("input", { type: "number", min: 0, max: 100000, size: 5 });
  const register = h("form", { class: "card", "aria-label": "Register a room" },
    h("h2", {}, "Register a room"), h("div", { class: "filters" }, field("Room mailbox e-mail", email), field("Capacity", capacity),
      h("button", { type: "submit" }, "Register")));
  register.addEventListener("submit", (event) => {
    event.preventDefault();
    const row = { email: email.value.trim() };
    if (capacity.value) row.capacity = Number(capacity.value);
    api.send("POST", api.tenantPath(tid, "/rooms"), { rooms: [row] }).then((r) => {
      messages.replaceChildren(registered(r));
      email.value = "";
      return reload();
    }).catch((e) => messages.replaceChildren(errorNotice(e)));
  });
  const file = h("input", { type: "file", accept: ".csv,text/csv", id: "csv-file" });
  const upload = h("button", { type: "button", id: "csv-upload" }, "Import CSV");
  upload.addEventListener("click", async () => {
    if (!file.files.length) { messages.replaceChildren(h("p", { class: "notice error", role: "alert" }, "Choose a CSV file first.")); return; }
    const text = await file.files[0].text();
    busy(upload, api.send("POST", api.tenantPath(tid, "/rooms"), text, "text/csv").then((r) => {
      messages.replaceChildren(registered(r));
      return reload();
    }).catch((e) => messages.replaceChildren(errorNotice(e), rowErrors((e.body.detail || {}).errors || []))));
  });
  const places = h("button", { type: "button", class: "secondary" }, "Import from Microsoft 365 (/places)");
  places.addEventListener("click", () => busy(places, api.send("POST", api.tenantPath(tid, "/rooms/import")).then((r) => {
    messages.replaceChildren(h("p", { class: "notice ok" }, `${r.added.length} added, ${r.updated.length} updated from /places.`));
    return reload();
  }).catch((e) => messages.replaceChildren(errorNotice(e)))));
  const csv = h("div", { class: "card" }, h("h2", {}, "Import rooms"),
    h("p", { class: "muted" }, "CSV with a header row: email (required), display_name, capacity, building, floor, sensor_id, "
      + "time_zone. Good rows are kept; bad rows are listed with the reason."),
    h("div", { class: "filters" }, field("CSV file", file), upload, places));
  return h("div", { class: "grid" }, register, csv);
}

function registered(result) {
  return h("div", {}, h("p", { class: "notice ok" }, `${result.added.length} added, ${result.updated.length} updated`
    + (result.rejected ? `, ${result.rejected} rejected.` : ".")), rowErrors(result.errors || []));
}

function rowErrors(errors) {
  if (!errors.length) return null;
  return table({ caption: "Rows that were not imported", rows: errors, columns: [
    { label: "Row", key: "row", num: true }, { label: "E-mail", key: "email" },
    { label: "Problem", cell: (e) => Object.entries(e.errors || {}).map(([k, v]) => `${k}: ${v}`).join("; ") }] });
}
