"""What the tideway plugin's options say about the publish gates (gates.py runs them).

Apart from the gates so that the plugin, which every build loads, imports only these names
and not the gates' HTML reading and reporting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .owners import Patterns

# The gates by the names the plugin's `warn_only` option gives them, and as reports show them.
GATES = {
    "build": "strict build",
    "links": "links and anchors",
    "owners": "owners",
    "freshness": "freshness",
    "commands": "tested commands",
}


@dataclass(frozen=True)
class GateSettings:
    """What the tideway plugin's options say about the gates."""

    warn_only: frozenset[str] = frozenset()
    exempt: Patterns = field(default_factory=Patterns)
    freshness_days: int = 365
    owners_file: str = ""  # absolute, as the plugin's schema resolves it; "" without one

    @classmethod
    def from_plugin_config(cls, config) -> GateSettings:
        return cls(
            frozenset(config.warn_only),
            Patterns(config.exempt),
            int(config.freshness_days),
            config.owners_file or "",
        )

    def checks(self, src: str, generated: bool) -> bool:
        """Whether the owners and freshness gates look at this page: not at one that another
        plugin generated (it has no front matter to fix), nor one matching `exempt`."""
        return not generated and not self.exempt.match(src)
