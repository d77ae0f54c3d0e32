// Live status: every room free or busy now, the current and the next meeting; refreshes by itself.
import * as api from "./api.js";
import { badge, errorNotice, h, table, when } from "./ui.js";

const EVERY_MS = 15000;

export async function renderStatus(view, me) {
  const stamp = h("p", { class: "muted" });
  const body = h("div", {});
  const refresh = async () => {
    try {
      const status = await api.get(api.tenantPath(me.tenant_id, "/status"));
      const busyCount = status.rooms.filter((r) => r.free_busy === "busy").length;
      stamp.textContent = `${busyCount} of ${status.rooms.length} rooms busy · updated ${when(status.at)} · refreshes every 15 s`;
      body.replaceChildren(table({ caption: "Rooms now", rows: status.rooms, empty: "No rooms yet.", columns: [
        { label: "Room", cell: (r) => r.display_name || r.room },
        { label: "Now", cell: (r) => r.free_busy === "busy" ? badge("busy", "bad") : badge("free", "ok") },
        { label: "Until", cell: (r) => when(r.busy_until || r.free_until) },
        { label: "Current meeting", cell: (r) => meeting(r.current) },
        { label: "Next meeting", cell: (r) => meeting(r.next) },
        { label: "Sync", cell: (r) => (r.sync && r.sync.status) || "—" },
      ] }));
    } catch (e) {
      body.replaceChildren(errorNotice(e));
    }
  };
  view.replaceChildren(stamp, body);
  await refresh();
  const timer = setInterval(refresh, EVERY_MS);
  return () => clearInterval(timer);
}

function meeting(m) {
  if (!m) return "—";
  const who = m.organizer ? ` · ${m.organizer.name || m.organizer.address || m.organizer}` : "";
  return `${when(m.start)} – ${new Date(m.end).toLocaleTimeString(undefined, { timeStyle: "short" })}`
    + ` · ${m.attendee_count} people${m.is_online ? " · online" : ""}${who}`;
}
