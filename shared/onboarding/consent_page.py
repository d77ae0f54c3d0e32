"""The small HTML page the browser lands on after Microsoft's admin-consent redirect.

Every dynamic value is HTML-escaped; the page loads nothing and links nowhere but RoomCal.
"""

from __future__ import annotations

from html import escape

from shared.onboarding.consent_outcome import ConsentOutcome

PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


def render(outcome: ConsentOutcome) -> str:
    steps = "".join(f"<li>{escape(step)}</li>" for step in outcome.next_steps)
    warnings = "".join(f'<p class="warn">{escape(w)}</p>' for w in outcome.warnings)
    facts = []
    if outcome.tenant_id:
        facts.append(f"Tenant id: <code>{escape(outcome.tenant_id)}</code>")
    if outcome.error:
        code = escape(outcome.error) + (f" ({escape(outcome.aadsts)})" if outcome.aadsts else "")
        facts.append(f"Error code: <code>{code}</code>")
    facts_html = "".join(f"<p>{fact}</p>" for fact in facts)
    colour = "#0a7d28" if outcome.ok else "#b3261e"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>RoomCal: {escape(outcome.title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}
h1{{color:{colour}}}.warn{{background:#fff4ce;border-left:4px solid #c19c00;padding:.5rem 1rem}}</style>
</head><body>
<h1>{escape(outcome.title)}</h1>
<p>{escape(outcome.message)}</p>
{warnings}{facts_html}
<h2>What to do next</h2>
<ol>{steps}</ol>
<p><a href="/api/portal#setup">Back to RoomCal's admin page</a></p>
</body></html>
"""
