// Analytics: booking rate over time, weekday × hour heatmap, most and least popular rooms, ad-hoc vs planned,
// meeting size vs capacity, groups, right-sizing findings and, with sensors, occupancy. Every table can be
// downloaded as CSV or Excel from the same API (format=csv|xlsx). Charts are Chart.js (shipped, not a CDN);
// each chart has its data table beside it for screen readers and keyboard users.
import * as api from "./api.js";
import { errorNotice, field, h, pct, table } from "./ui.js";

const charts = [];

export async function renderAnalytics(view, me) {
  const tid = me.tenant_id;
  const filters = filterForm(tid);
  const out = h("div", { "aria-live": "polite" });
  const load = async () => {
    charts.splice(0).forEach((c) => c.destroy());
    out.replaceChildren(h("p", { class: "muted" }, "Loading…"));
    const query = filters.query();
    try {
      const [summary, rooms] = await Promise.all([
        api.get(api.tenantPath(tid, `/analytics/summary?${query}`)),
        api.get(api.tenantPath(tid, `/analytics/rooms?${query}`)),
      ]);
      out.replaceChildren(...sections(tid, query, summary, rooms));
      drawCharts(summary, rooms);
      out.append(await occupancy(tid, query));
    } catch (e) {
      out.replaceChildren(e.status === 404 && !(e.body && e.body.error)
        ? h("p", { class: "notice info" }, "Analytics are not available in this deployment yet.") : errorNotice(e));
    }
  };
  filters.form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  view.replaceChildren(filters.form, out);
  filters.fill(await api.get(api.tenantPath(tid, "/rooms")).catch(() => ({ rooms: [] })));
  await load();
  return () => charts.splice(0).forEach((c) => c.destroy());
}

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

function filterForm() {
  const today = new Date();
  const from = h("input", { type: "date", value: isoDay(new Date(today.getTime() - 29 * 86400000)), required: true });
  const to = h("input", { type: "date", value: isoDay(today), required: true });
  const building = h("select", {}, h("option", { value: "" }, "All buildings"));
  const floor = h("select", {}, h("option", { value: "" }, "All floors"));
  const form = h("form", { class: "card filters", "aria-label": "Filters" }, field("From", from), field("To", to),
    field("Building", building), field("Floor", floor), h("button", { type: "submit" }, "Show"));
  return {
    form,
    query: () => {
      const q = new URLSearchParams({ from: from.value, to: to.value });
      if (building.value) q.set("building", building.value);
      if (floor.value) q.set("floor", floor.value);
      return q.toString();
    },
    fill: (listing) => {
      const uniq = (key) => [...new Set(listing.rooms.map((r) => r[key]).filter(Boolean))].sort();
      building.append(...uniq("building").map((b) => h("option", { value: b }, b)));
      floor.append(...uniq("floor").map((f) => h("option", { value: f }, f)));
    },
  };
}

function downloads(tid, table, query, label) {
  const base = api.tenantPath(tid, `/analytics/${table}?${query}`);
  return h("p", { class: "downloads" }, "Download ", label, ": ",
    h("a", { href: `${base}&format=csv`, download: "", "data-table": table }, "CSV"),
    h("a", { href: `${base}&format=xlsx`, download: "" }, "Excel"));
}

function chartBox(id, label) {
  return h("div", { class: "chart-box" }, h("canvas", { id, role: "img", "aria-label": label }));
}

function sections(tid, query, summary, rooms) {
  const t = summary.totals || {};
  const rankings = summary.rankings || {};
  const rate = rankings.by_booking_rate || {};
  const heat = summary.heatmap || { weekdays: [], hours: [], booked_share: [] };
  return [
    kpis(t),
    h("section", { class: "card", "aria-labelledby": "a-series" }, h("h2", { id: "a-series" }, "Booking rate over time"),
      chartBox("chart-series", "Line chart of the booking rate per period; the table below has the figures"),
      downloads(tid, "series", query, "time series"),
      details("Figures", autoTable(summary.series || [], "Booking rate per period"))),
    h("section", { class: "card", "aria-labelledby": "a-heat" }, h("h2", { id: "a-heat" }, "When rooms are booked"),
      h("p", { class: "muted" }, "Share of available room time booked, by weekday and hour (local time of each room)."),
      heatmap(heat), downloads(tid, "heatmap", query, "heatmap")),
    h("div", { class: "grid" },
      h("section", { class: "card", "aria-labelledby": "a-most" }, h("h2", { id: "a-most" }, "Most popular rooms"),
        chartBox("chart-most", "Bar chart of the rooms with the highest booking rate"),
        autoTable(rate.most || [], "Highest booking rate")),
      h("section", { class: "card", "aria-labelledby": "a-least" }, h("h2", { id: "a-least" }, "Least popular rooms"),
        chartBox("chart-least", "Bar chart of the rooms with the lowest booking rate"),
        autoTable(rate.least || [], "Lowest booking rate"),
        (rankings.unbooked_rooms || []).length ? h("p", {}, "Never booked: ", rankings.unbooked_rooms.map(roomName).join(", ")) : null)),
    h("div", { class: "grid" },
      h("section", { class: "card", "aria-labelledby": "a-lead" }, h("h2", { id: "a-lead" }, "Ad-hoc vs planned"),
        chartBox("chart-lead", "Bar chart of meetings by how long before the start they were booked"),
        downloads(tid, "lead-times", query, "lead times"), autoTable(summary.lead_times || [], "Meetings by lead time")),
      h("section", { class: "card", "aria-labelledby": "a-size" }, h("h2", { id: "a-size" }, "Meeting size vs capacity"),
        h("p", { class: "muted" }, "People in the meeting (organiser and attendees, not rooms) as a share of the room's seats."),
        chartBox("chart-size", "Bar chart of meetings by the share of the room's capacity they use"),
        downloads(tid, "sizes", query, "sizes"), details("Meetings by size and capacity",
          autoTable(asRows(summary.sizes), "Meetings by size and capacity")))),
    h("section", { class: "card", "aria-labelledby": "a-groups" }, h("h2", { id: "a-groups" }, "Groups using rooms"),
      chartBox("chart-groups", "Bar chart of booked hours by organiser domain and department"),
      downloads(tid, "groups", query, "groups"), autoTable(summary.groups || [], "Groups by booked time")),
    h("section", { class: "card", "aria-labelledby": "a-find" }, h("h2", { id: "a-find" }, "Right-sizing findings"),
      downloads(tid, "findings", query, "findings"),
      (summary.findings || []).length ? h("ul", {}, summary.findings.map((f) => h("li", {}, h("strong", {}, roomName(f.room)),
        ": ", f.message, " ", h("span", { class: "badge info" }, f.rule)))) : h("p", { class: "muted" }, "No findings for this range.")),
    h("section", { class: "card", "aria-labelledby": "a-rooms" }, h("h2", { id: "a-rooms" }, "Every room"),
      downloads(tid, "rooms", query, "rooms"), autoTable(rooms.rooms || rooms, "Rooms")),
  ];
}

function kpis(t) {
  const items = [["Booking rate", pct(t.booking_rate)], ["Meetings", t.meetings], ["Ad-hoc share", pct(
    t.meetings ? (t.ad_hoc_meetings || 0) / t.meetings : null)], ["Rooms", t.rooms], ["Booked hours",
    t.booked_minutes !== undefined ? Math.round(t.booked_minutes / 60) : undefined]];
  return h("div", { class: "kpis" }, items.filter(([, v]) => v !== undefined && v !== null).map(([label, value]) =>
    h("div", { class: "kpi" }, h("div", { class: "muted" }, label), h("div", { class: "value" }, value))));
}

function details(summaryText, content) {
  return h("details", {}, h("summary", {}, summaryText), content);
}

function roomName(room) {
  return typeof room === "string" ? room : room && (room.name || room.room || room.email) || "—";
}

function asRows(value) {
  if (Array.isArray(value)) return value;
  if (value && typeof value === "object") {
    const list = Object.values(value).find(Array.isArray);
    return list || [value];
  }
  return [];
}

function label(key) {
  return key.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase());
}

function format(key, value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number" && /(rate|share)$/.test(key)) return pct(value);
  if (typeof value === "number") return Number.isInteger(value) ? value.toLocaleString() : value.toFixed(2);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function autoTable(rows, caption) {
  if (!rows || !rows.length) return h("p", { class: "muted" }, "No data for this range.");
  const keys = Object.keys(rows[0]).filter((k) => !["evidence"].includes(k));
  return table({ caption, rows, columns: keys.map((k) => ({ label: label(k), num: typeof rows[0][k] === "number",
    cell: (r) => format(k, r[k]) })) });
}

function heatmap(heat) {
  const shares = heat.booked_share || [];
  if (!shares.length) return h("p", { class: "muted" }, "No data for this range.");
  const hours = heat.hours || shares[0].map((_, i) => i);
  const days = heat.weekdays || ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
  const used = hours.map((_, i) => shares.some((row) => row[i] !== null && row[i] !== undefined && row[i] > 0) || (i >= 7 && i <= 18));
  const keep = hours.map((hr, i) => [hr, i]).filter(([, i]) => used[i]);
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Heatmap" }, h("table", { class: "heatmap" },
    h("caption", { class: "visually-hidden" }, "Booked share by weekday (rows) and hour (columns)"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Day"), keep.map(([hr]) => h("th", { scope: "col" }, `${String(hr).padStart(2, "0")}h`)))),
    h("tbody", {}, shares.map((row, d) => h("tr", {}, h("th", { scope: "row" }, days[d]),
      keep.map(([, i]) => {
        const v = row[i];
        const level = v === null || v === undefined ? 0 : Math.min(9, Math.round(v * 9));
        return h("td", { class: `h${level}` }, v === null || v === undefined ? "—" : `${Math.round(v * 100)}`);
      }))))));
}

function bar(id, labels, values, { horizontal = false, percent = false } = {}) {
  const canvas = document.getElementById(id);
  if (!canvas || !window.Chart) return;
  charts.push(new window.Chart(canvas, {
    type: "bar",
    data: { labels, datasets: [{ data: values, backgroundColor: "#2563eb", borderRadius: 3 }] },
    options: { indexAxis: horizontal ? "y" : "x", maintainAspectRatio: false, animation: false,
      plugins: { legend: { display: false } },
      scales: percent ? { [horizontal ? "x" : "y"]: { min: 0, max: 1, ticks: { callback: (v) => `${Math.round(v * 100)} %` } } } : {} },
  }));
}

function drawCharts(summary) {
  const series = summary.series || [];
  const canvas = document.getElementById("chart-series");
  if (canvas && window.Chart && series.length) {
    charts.push(new window.Chart(canvas, {
      type: "line",
      data: { labels: series.map((s) => s.period), datasets: [{ label: "Booking rate", data: series.map((s) => s.booking_rate),
        borderColor: "#0b5cad", backgroundColor: "#93c5fd", fill: true, tension: 0.2, pointRadius: 2 }] },
      options: { maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } },
        scales: { y: { min: 0, ticks: { callback: (v) => `${Math.round(v * 100)} %` } } } },
    }));
  }
  const rate = (summary.rankings || {}).by_booking_rate || {};
  for (const [id, rows] of [["chart-most", rate.most || []], ["chart-least", rate.least || []]]) {
    bar(id, rows.map(roomName), rows.map((r) => r.booking_rate), { horizontal: true, percent: true });
  }
  const lead = summary.lead_times || [];
  bar("chart-lead", lead.map((l) => l.bucket), lead.map((l) => l.meetings));
  const fill = capacityUse(asRows(summary.sizes));
  bar("chart-size", fill.map((b) => b.label), fill.map((b) => b.meetings));
  const groups = [...(summary.groups || [])].sort((a, b) => b.booked_minutes - a.booked_minutes).slice(0, 10);
  bar("chart-groups", groups.map((g) => [g.domain, g.department].filter(Boolean).join(" · ")),
    groups.map((g) => Math.round(g.booked_minutes / 6) / 10), { horizontal: true });
}

// Meetings by how much of the room they fill: the right-sizing view ("2 people in a 12-seat room").
export function capacityUse(rows) {
  const buckets = [["≤ 25 %", 0.25], ["26–50 %", 0.5], ["51–75 %", 0.75], ["76–100 %", 1], ["over capacity", Infinity]]
    .map(([label, upTo]) => ({ label, upTo, meetings: 0 }));
  for (const row of rows) {
    if (!row.capacity || row.size === undefined) continue;
    const share = row.size / row.capacity;
    buckets.find((b) => share <= b.upTo).meetings += row.meetings || 0;
  }
  return buckets;
}

const SENSOR_KPIS = [["occupancy_rate", "Occupancy rate"], ["no_show_rate", "No-show rate"], ["no_shows", "No-shows"],
  ["unused_booked_share", "Unused booked time"], ["hours_lost_per_week", "Hours lost per week"], ["meetups", "Ad-hoc meet-ups"],
  ["released", "Released"], ["coverage", "Sensor coverage"]];

async function occupancy(tid, query) {
  const section = h("section", { class: "card", "aria-labelledby": "a-occ" }, h("h2", { id: "a-occ" }, "Occupancy sensors"));
  let occ;
  try {
    occ = await api.get(api.tenantPath(tid, `/analytics/occupancy?${query}`));
  } catch (e) {
    section.append(e.status === 404 && !(e.body && e.body.error) ? h("p", { class: "muted" }, "Occupancy is not available "
      + "in this deployment.") : errorNotice(e));
    return section;
  }
  const s = occ.summary || {};
  if (!s.rooms_with_sensor) {
    section.append(h("p", { class: "muted" }, "No room has a sensor yet: link sensors on the Rooms tab (Sensor column) and "
      + "let the sensor platform send presence to RoomCal."));
    return section;
  }
  const sensorRooms = (occ.rooms || []).filter((r) => r.data !== "no_sensor");
  section.append(
    h("p", { class: "muted" }, `${s.rooms_with_sensor} rooms with a sensor. A room without one, or with a silent one, `
      + "shows no data — never zero. No-show: a booked meeting with no presence at any time during it."),
    h("div", { class: "kpis" }, SENSOR_KPIS.filter(([k]) => s[k] !== undefined).map(([k, name]) =>
      h("div", { class: "kpi" }, h("div", { class: "muted" }, name), h("div", { class: "value" }, format(k, s[k]))))),
    chartBox("chart-occ", "Bar chart of booked and used minutes per room with a sensor"),
    downloads(tid, "occupancy", query, "occupancy"),
    details("Figures per room", autoTable(sensorRooms.map(pick(["room", "data", "occupancy_rate", "meetings", "no_shows",
      "unused_booked_minutes", "meetups", "released"])), "Occupancy by room")),
    await ghostSeries(tid, query),
    simulator(tid, query));
  requestAnimationFrame(() => {
    const top = [...sensorRooms].sort((a, b) => (b.booked_minutes || 0) - (a.booked_minutes || 0)).slice(0, 12);
    const canvas = document.getElementById("chart-occ");
    if (!canvas || !window.Chart) return;
    charts.push(new window.Chart(canvas, {
      type: "bar",
      data: { labels: top.map((r) => r.name || r.room),
        datasets: [{ label: "Booked minutes", data: top.map((r) => r.booked_minutes), backgroundColor: "#93c5fd" },
          { label: "Booked and used", data: top.map((r) => r.booked_used_minutes), backgroundColor: "#1d4ed8" }] },
      options: { maintainAspectRatio: false, animation: false },
    }));
  });
  return section;
}

function pick(keys) {
  return (row) => Object.fromEntries(keys.filter((k) => k in row).map((k) => [k, row[k]]));
}

async function ghostSeries(tid, query) {
  try {
    const ghosts = await api.get(api.tenantPath(tid, `/analytics/occupancy/ghost-series?${query}`));
    return h("div", {}, h("h3", {}, "Ghost series"), h("p", { class: "muted" }, "Recurring meetings whose occurrences keep "
      + "ending as no-shows."), autoTable((ghosts.series || []).map((g) => { const { occurrences, ...rest } = g; return rest; }),
      "Recurring series with repeated no-shows"));
  } catch (e) {
    return errorNotice(e);
  }
}

function simulator(tid, query) {
  const grace = h("input", { type: "number", min: 5, max: 30, value: 10, required: true });
  const longBlock = h("input", { type: "number", min: 30, max: 1440, value: 480 });
  const minLead = h("input", { type: "number", min: 0, max: 1440, value: 5 });
  const out = h("div", { "aria-live": "polite" });
  const form = h("form", { "aria-label": "Policy simulator" }, h("h3", {}, "Policy simulator"),
    h("p", { class: "muted" }, "Replays this range's bookings and presence through a candidate no-show policy: what it would "
      + "have released, the hours freed, and the meetings it would have wrongly released (presence after the grace period)."),
    h("div", { class: "filters" }, field("Grace period (minutes, 5-30)", grace), field("Skip blocks of at least (minutes)", longBlock),
      field("Skip bookings made less than (minutes) before the start", minLead), h("button", { type: "submit" }, "Simulate")), out);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const q = new URLSearchParams(query);
    q.set("grace_minutes", grace.value);
    q.set("long_block_minutes", longBlock.value);
    q.set("min_lead_minutes", minLead.value);
    try {
      const sim = await api.get(api.tenantPath(tid, `/noshow/simulate?${q}`));
      out.replaceChildren(kpiRow(sim.summary || {}), h("p", { class: "downloads" }, "Download: ",
        h("a", { href: api.tenantPath(tid, `/noshow/simulate?${q}&format=csv`), download: "" }, "CSV"),
        h("a", { href: api.tenantPath(tid, `/noshow/simulate?${q}&format=xlsx`), download: "" }, "Excel")),
      details("Per room", autoTable(sim.rooms || [], "Simulated releases by room")));
    } catch (e) {
      out.replaceChildren(errorNotice(e));
    }
  });
  return form;
}

function kpiRow(totals) {
  return h("div", { class: "kpis" }, Object.entries(totals).filter(([, v]) => typeof v === "number").slice(0, 6)
    .map(([k, v]) => h("div", { class: "kpi" }, h("div", { class: "muted" }, label(k)), h("div", { class: "value" }, format(k, v)))));
}
