"""The result of an admin-consent callback, in words a person can act on."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ConsentOutcome:
    ok: bool
    title: str
    message: str
    next_steps: list[str]
    tenant_id: str | None = None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    aadsts: str | None = None

    @classmethod
    def failed(cls, title: str, message: str, next_steps: list[str], *, error: str | None = None,
               aadsts: str | None = None) -> ConsentOutcome:
        return cls(ok=False, title=title, message=message, next_steps=next_steps, error=error, aadsts=aadsts)

    def to_dict(self) -> dict:
        body = {"ok": self.ok, "title": self.title, "message": self.message, "next_steps": self.next_steps}
        for name in ("tenant_id", "error", "aadsts"):
            if getattr(self, name):
                body[name] = getattr(self, name)
        if self.warnings:
            body["warnings"] = self.warnings
        return body
