"""robots.txt rules (RFC 9309), parsed and matched without network access.

We parse robots.txt ourselves rather than with urllib.robotparser because the standard library applies the
first matching rule, while RFC 9309 (and the big crawlers) apply the *longest* matching rule, with Allow winning
a tie, and support the `*` and `$` wildcards.

- Groups: consecutive `User-agent` lines followed by their `Allow`/`Disallow` rules. The groups naming our
  product token (the User-Agent up to the first "/", case-insensitive, e.g. "commentminer") are merged and
  used; when none names us, the `*` groups are used; when there are neither, everything is allowed.
- `Disallow:` with an empty value allows everything (it is no rule). `/robots.txt` itself is always allowed.
- What the fetch of robots.txt itself means (decided by the scrape stage, per RFC 9309 section 2.3.1):
  2xx -> these rules; 4xx (404, 410, also 401/403) -> everything allowed; 5xx (after retries) or unreachable ->
  everything disallowed for that host for the rest of the crawl, because a server that cannot serve
  robots.txt may be unable to say "keep out".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit


def robots_url(url: str) -> str:
    """The robots.txt URL for the host of `url`."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1].lower()  # no user:password; host names are case-insensitive
    return f"{parts.scheme.lower()}://{host}/robots.txt"


def product_token(user_agent: str) -> str:
    """"commentminer/0.1 (+mailto:x)" -> "commentminer" (what robots.txt groups name)."""
    return re.split(r"[/\s]", user_agent.strip(), maxsplit=1)[0].lower()


@dataclass(frozen=True)
class _Rule:
    allow: bool
    pattern: str
    regex: re.Pattern[str]


def _compile(pattern: str) -> re.Pattern[str]:
    """A robots path pattern as a regex: `*` = any characters, a final `$` = end of the path."""
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    regex = ".*".join(re.escape(part) for part in body.split("*"))
    return re.compile(regex + ("$" if anchored else ""), re.DOTALL)


def _normalise(path: str) -> str:
    # Compare decoded forms so "/caf%C3%A9" and "/café" match each other, as RFC 9309 asks.
    return unquote(path)


class RobotsRules:
    """The rules of one robots.txt that apply to one user agent."""

    def __init__(self, rules: list[_Rule], kind: str = "rules"):
        self.rules = rules
        self.kind = kind  # "rules" | "allow_all" | "disallow_all"

    @classmethod
    def allow_all(cls) -> "RobotsRules":
        return cls([], "allow_all")

    @classmethod
    def disallow_all(cls) -> "RobotsRules":
        return cls([], "disallow_all")

    @classmethod
    def parse(cls, text: str, user_agent: str) -> "RobotsRules":
        """The rules of robots.txt `text` that apply to `user_agent` (see the module docstring)."""
        token = product_token(user_agent)
        groups: list[tuple[list[str], list[_Rule]]] = []
        agents: list[str] = []
        rules: list[_Rule] = []
        in_rules = False
        for raw_line in text.splitlines():
            line = raw_line.split("#", 1)[0].strip()
            key, sep, value = line.partition(":")
            if not sep:
                continue
            key, value = key.strip().lower(), value.strip()
            if key == "user-agent":
                if in_rules:  # a user-agent line after rules starts a new group
                    groups.append((agents, rules))
                    agents, rules, in_rules = [], [], False
                agents.append(value.lower())
            elif key in ("allow", "disallow"):
                in_rules = True
                if not agents or (key == "disallow" and not value):
                    continue  # rules before any user-agent line, or "Disallow:" (= allow all), are no rules
                pattern = _normalise(value)
                rules.append(_Rule(key == "allow", pattern, _compile(pattern)))
        if agents:
            groups.append((agents, rules))
        ours = [r for names, group in groups if token in names for r in group]
        if not ours and not any(token in names for names, _ in groups):
            ours = [r for names, group in groups if "*" in names for r in group]
        return cls(ours)

    def allowed(self, url: str) -> bool:
        """True when `url` may be fetched: the longest matching rule wins, Allow wins a tie, no match allows."""
        if self.kind != "rules":
            return self.kind == "allow_all"
        parts = urlsplit(url)
        path = _normalise((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
        if path == "/robots.txt":
            return True
        best: _Rule | None = None
        for rule in self.rules:
            if rule.regex.match(path) and (
                best is None or len(rule.pattern) > len(best.pattern)
                or (len(rule.pattern) == len(best.pattern) and rule.allow)
            ):
                best = rule
        return best is None or best.allow
