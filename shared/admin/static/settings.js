// Settings: built from the API's own description (the TenantSettingsUpdate schema in /api/openapi.json), so a
// setting added to the API appears here without a page change. Office hours get their own editor; lists are one
// value per line. Below: the no-show release preview, and offboarding with a typed confirmation.
import * as api from "./api.js";
import { announce, busy, errorNotice, field, h, table } from "./ui.js";

const DAYS = [["mon", "Monday"], ["tue", "Tuesday"], ["wed", "Wednesday"], ["thu", "Thursday"], ["fri", "Friday"],
  ["sat", "Saturday"], ["sun", "Sunday"]];
const LABELS = {
  time_zone: "Time zone", backfill_days: "History to read (days)", lookahead_days: "Future to read (days)",
  retention_days: "Keep data for (days)", noshow_release: "No-show release", grace_minutes: "Grace period (minutes)",
  adhoc_threshold_minutes: "Ad-hoc threshold (minutes)", meetup_minutes: "Ad-hoc meet-up minimum (minutes)",
  show_organisers: "Show organisers", holidays: "Holidays", directory_groups: "Directory-based groups (department)",
  holiday_country: "Public holidays of country",
};
const HELP = {
  time_zone: "IANA time zone of the tenant, e.g. Europe/Amsterdam; rooms may have their own.",
  adhoc_threshold_minutes: "A meeting booked less than this before its start counts as ad-hoc.",
  show_organisers: "Show organisers' names in analytics and ghost-series reports.",
  holidays: "One date per line (YYYY-MM-DD): no available time on these days.",
  noshow_release: "Off by default. Declines meetings whose room shows no presence within the grace period.",
  grace_minutes: "Minutes after the start before a meeting without presence may be released.",
};

export async function renderSettings(view, me) {
  const tid = me.tenant_id;
  const messages = h("div", { "aria-live": "polite" });
  let current, schema;
  try {
    [current, schema] = await Promise.all([api.get(api.tenantPath(tid, "/settings")), api.get("/api/openapi.json")]);
  } catch (e) {
    view.replaceChildren(errorNotice(e));
    return;
  }
  const props = (schema.components.schemas.TenantSettingsUpdate || {}).properties || {};
  const editors = Object.keys(props).filter((k) => k in current).map((k) => editor(k, props[k], current[k], me.can_change));
  const form = h("form", { class: "card", "aria-label": "Tenant settings" }, h("h2", {}, "Tenant settings"),
    h("div", { class: "grid" }, editors.map((e) => e.el)),
    me.can_change ? h("div", { class: "actions" }, h("button", { type: "submit" }, "Save settings"))
      : h("p", { class: "muted" }, "Changing settings needs the RoomCal.Admin role."));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const change = {};
    try {
      for (const e of editors) {
        const value = e.value();
        if (JSON.stringify(value) !== JSON.stringify(current[e.key])) change[e.key] = value;
      }
    } catch (err) {
      messages.replaceChildren(h("p", { class: "notice error", role: "alert" }, err.message));
      return;
    }
    if (!Object.keys(change).length) { messages.replaceChildren(h("p", { class: "notice info" }, "Nothing changed.")); return; }
    api.send("PATCH", api.tenantPath(tid, "/settings"), change).then((r) => {
      current = r.settings;
      const rebuilt = r.analytics ? "Analytics are being recomputed with the new settings (a few minutes for large tenants)." : null;
      messages.replaceChildren(h("p", { class: "notice ok" }, `Saved: ${r.changed.join(", ")}.`,
        rebuilt ? h("br") : null, rebuilt, r.next_step ? h("br") : null, r.next_step || null));
      announce("Settings saved");
    }).catch((e) => messages.replaceChildren(errorNotice(e)));
  });
  view.replaceChildren(messages, form, releasePreview(tid), offboarding(tid, me));
}

function typeOf(prop) {
  const options = prop.anyOf || [prop];
  return options.find((o) => o.type !== "null") || {};
}

function editor(key, prop, value, canChange) {
  const kind = typeOf(prop);
  const name = LABELS[key] || key.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase());
  if (key === "office_hours") return officeHours(value, canChange);
  let input;
  let read;
  if (kind.type === "boolean") {
    input = h("input", { type: "checkbox", checked: Boolean(value), disabled: !canChange });
    read = () => input.checked;
    return { key, value: read, el: h("div", {}, h("label", { class: "inline", for: (input.id = `s-${key}`) }, input, name),
      HELP[key] ? h("div", { class: "muted" }, HELP[key]) : null) };
  }
  if (kind.type === "integer" || kind.type === "number") {
    input = h("input", { type: "number", value: value ?? "", min: kind.minimum, max: kind.maximum, disabled: !canChange });
    read = () => (input.value === "" ? null : Number(input.value));
  } else if (kind.type === "array") {
    input = h("textarea", { rows: 4, disabled: !canChange }, (value || []).map((v) => (typeof v === "object" ? JSON.stringify(v) : v)).join("\n"));
    read = () => input.value.split("\n").map((s) => s.trim()).filter(Boolean).map((s) => (s.startsWith("{") ? JSON.parse(s) : s));
  } else if (kind.enum) {
    input = h("select", { disabled: !canChange }, kind.enum.map((v) => h("option", { value: v, selected: v === value }, v)));
    read = () => input.value;
  } else if (kind.type === "object") {
    input = h("textarea", { rows: 4, disabled: !canChange }, JSON.stringify(value ?? {}, null, 1));
    read = () => JSON.parse(input.value || "{}");
  } else {
    const nullable = (prop.anyOf || []).some((o) => o.type === "null");
    input = h("input", { type: "text", value: value ?? "", disabled: !canChange, pattern: kind.pattern });
    read = () => input.value.trim() || (nullable ? null : "");
  }
  input.id = `s-${key}`;
  return { key, value: read, el: field(name, input, HELP[key]) };
}

function officeHours(value, canChange) {
  const rows = DAYS.map(([day, label]) => {
    const on = h("input", { type: "checkbox", checked: Boolean(value && value[day]), disabled: !canChange, "aria-label": `${label} is a working day` });
    const start = h("input", { type: "time", value: (value && value[day] && value[day].start || "08:00").slice(0, 5), disabled: !canChange, "aria-label": `${label} start` });
    const end = h("input", { type: "time", value: (value && value[day] && value[day].end || "18:00").slice(0, 5), disabled: !canChange, "aria-label": `${label} end` });
    return { day, label, on, start, end };
  });
  const el = h("fieldset", { class: "wide" }, h("legend", {}, "Office hours (available time)"),
    table({ rows, columns: [{ label: "Day", key: "label" }, { label: "Open", cell: (r) => r.on },
      { label: "From", cell: (r) => r.start }, { label: "To", cell: (r) => r.end }] }));
  const read = () => Object.fromEntries(rows.filter((r) => r.on.checked).map((r) => [r.day, { start: `${r.start.value}:00`, end: `${r.end.value}:00` }]));
  return { key: "office_hours", el, value: () => {
    const next = read();
    // Compare as the API stores them (HH:MM:SS); unchanged hours must not count as a change.
    return JSON.stringify(next) === JSON.stringify(normalise(value)) ? value : next;
  } };
}

function normalise(hours) {
  return Object.fromEntries(Object.entries(hours || {}).map(([d, v]) => [d, { start: v.start.slice(0, 5) + ":00", end: v.end.slice(0, 5) + ":00" }]));
}

function releasePreview(tid) {
  const out = h("div", { "aria-live": "polite" });
  const button = h("button", { type: "button", class: "secondary", id: "release-preview" }, "Preview: what would be released now");
  button.addEventListener("click", () => busy(button, api.send("POST", api.tenantPath(tid, "/noshow/release?dry_run=true"))
    .then((r) => out.replaceChildren(
      h("p", {}, `Dry run: ${(r.counts || {}).would_release || 0} meetings would be released now; nothing was declined.`),
      table({ caption: "Meetings the release looked at", rows: r.meetings || [], empty: "No meeting is in its grace period now.",
        columns: [{ label: "Room", key: "room" }, { label: "Start", key: "start" }, { label: "Decision", key: "decision" },
          { label: "Why", key: "reason" }] })))
    .catch((e) => out.replaceChildren(errorNotice(e)))));
  return h("section", { class: "card", "aria-labelledby": "s-release" }, h("h2", { id: "s-release" }, "No-show release"),
    h("p", {}, "With sensors, RoomCal can decline a booked meeting as the room when nobody turned up within the grace period, "
      + "so the room becomes free. It is off until you switch it on above; try the policy simulator on the Analytics tab, "
      + "and preview what it would do now (dry run: nothing is declined)."),
    h("div", { class: "actions" }, button), out);
}

function offboarding(tid, me) {
  const confirm = h("input", { type: "text", autocomplete: "off", size: 38, disabled: !me.can_change });
  const button = h("button", { type: "button", class: "danger", disabled: true, id: "offboard" }, "Offboard this organisation");
  const out = h("div", { "aria-live": "polite" });
  confirm.addEventListener("input", () => { button.disabled = confirm.value.trim().toLowerCase() !== tid; });
  button.addEventListener("click", () => busy(button, api.send("DELETE", api.tenantPath(tid)).then((r) => {
    out.replaceChildren(h("p", { class: "notice ok" }, "This organisation is offboarded: subscriptions and data are deleted; "
      + "the audit log is kept. Connecting it again is a deliberate step on the Setup tab."), h("pre", {}, JSON.stringify(r, null, 1)));
  }).catch((e) => out.replaceChildren(errorNotice(e)))));
  return h("section", { class: "card", "aria-labelledby": "s-off" }, h("h2", { id: "s-off" }, "Offboard"),
    h("p", {}, "Deletes RoomCal's Graph subscriptions and every stored calendar row and aggregate of this organisation. "
      + "It cannot be undone."),
    field(`Type the tenant id (${tid}) to confirm`, confirm), h("div", { class: "actions" }, button), out);
}
