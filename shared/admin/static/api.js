// The admin page's only way to the server: the same admin API operators use (see /api/openapi.json),
// under /api/session with the session cookie, and X-CSRF-Token on every write.
let csrf = "";

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export async function me() {
  const answer = await fetch("/api/auth/me", { credentials: "same-origin", cache: "no-store" });
  if (answer.status === 401) return null;
  if (!answer.ok) throw new ApiError(answer.status, await safeJson(answer));
  const body = await answer.json();
  csrf = body.csrf;
  return body;
}

export function tenantPath(tid, rest = "") {
  return `/api/session/tenants/${encodeURIComponent(tid)}${rest}`;
}

export async function get(path, { text = false } = {}) {
  const answer = await fetch(path, { credentials: "same-origin", cache: "no-store" });
  if (!answer.ok) throw new ApiError(answer.status, await safeJson(answer));
  return text ? answer.text() : answer.json();
}

export async function send(method, path, body, contentType = "application/json") {
  const headers = { "X-CSRF-Token": csrf };
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = contentType;
    payload = contentType === "application/json" ? JSON.stringify(body) : body;
  }
  const answer = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  const parsed = await safeJson(answer);
  if (!answer.ok) throw new ApiError(answer.status, parsed);
  return parsed;
}

export async function signOut() {
  await fetch("/api/auth/signout", { method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" });
}

async function safeJson(answer) {
  try {
    return await answer.json();
  } catch {
    return {};
  }
}
