// Small DOM helpers. Text is always set as a text node, never parsed as HTML, so data cannot inject markup.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

let uid = 0;
export const nextId = (prefix) => `${prefix}-${++uid}`;

export function announce(text) {
  const region = document.getElementById("announce");
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 30);
}

export function errorNotice(error) {
  const body = (error && error.body) || {};
  return h("div", { class: "notice error", role: "alert" },
    h("strong", {}, body.message || String(error.message || error)),
    body.fix ? h("div", {}, "What to do: ", body.fix) : null,
    body.detail && Object.keys(body.detail).length ? h("div", { class: "muted" }, JSON.stringify(body.detail)) : null);
}

export function badge(text, kind) {
  return h("span", { class: `badge ${kind}` }, text);
}

export function statusBadge(status) {
  const kind = { synced: "ok", not_synced: "bad", pending: "warn", active: "ok", consented: "info" }[status] || "info";
  return badge(String(status || "unknown").replace("_", " "), kind);
}

export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function pct(value) {
  return value === null || value === undefined ? "—" : `${(100 * value).toFixed(1)} %`;
}

export function table({ caption, columns, rows, empty = "Nothing to show." }) {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label)));
  const body = rows.map((row) => h("tr", {}, columns.map((c, i) => {
    const value = c.cell ? c.cell(row) : row[c.key];
    const tag = i === 0 ? "th" : "td";
    return h(tag, { scope: i === 0 ? "row" : null, class: c.num ? "num" : c.class || null }, value ?? "—");
  })));
  // Focusable and named, so a table wider than the screen can be scrolled with the keyboard.
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption || "Table" },
    h("table", {}, caption ? h("caption", {}, caption) : null,
    h("thead", {}, head), h("tbody", {}, body)));
}

export function copyButton(label, getText) {
  const button = h("button", { type: "button", class: "secondary" }, label);
  button.addEventListener("click", async () => {
    const text = getText();
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const area = h("textarea", { "aria-hidden": "true" }, text);
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    announce("Copied to the clipboard");
    button.textContent = "Copied ✓";
    setTimeout(() => { button.textContent = label; }, 2000);
  });
  return button;
}

export function field(labelText, input, hint) {
  const id = input.id || nextId("f");
  input.id = id;
  const hintId = hint ? `${id}-hint` : null;
  if (hintId) input.setAttribute("aria-describedby", hintId);
  return h("div", {}, h("label", { for: id }, labelText), input, hint ? h("div", { id: hintId, class: "muted" }, hint) : null);
}

export function busy(button, promise) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  return promise.finally(() => { button.disabled = false; button.removeAttribute("aria-busy"); });
}
