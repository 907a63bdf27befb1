"""The MQTT topic layout of the service (docs/api.md, "MQTT topics").

``<base>`` is the setting ``mqtt_base_topic`` (default ``villagegrid``):

- ``<base>/status``                       service availability, ``online``/``offline``
- ``<base>/<site>/plan``                  retained plan summary
- ``<base>/<site>/setpoints/<device>``    retained setpoints of the current interval
- ``<base>/<site>/state``                 measured state from the site's controller (in)
- ``<base>/<site>/limits``                a limit from the grid operator (in)
- ``<base>/<site>/replies``               the outcome of each message taken in
- ``<prefix>/device/villagegrid_<site>/config``   Home Assistant device discovery
- ``<prefix>/status``                     Home Assistant's birth and last will
"""

from __future__ import annotations

from dataclasses import dataclass

#: Topics the service takes messages from, by their last level.
INBOUND = ("state", "limits")


@dataclass(frozen=True)
class Topics:
    base: str = "villagegrid"
    discovery_prefix: str = "homeassistant"

    def status(self) -> str:
        return f"{self.base}/status"

    def site(self, site: str) -> str:
        return f"{self.base}/{site}"

    def plan(self, site: str) -> str:
        return f"{self.site(site)}/plan"

    def setpoints(self, site: str, device: str) -> str:
        return f"{self.site(site)}/setpoints/{device}"

    def inbound(self, site: str, what: str) -> str:
        return f"{self.site(site)}/{what}"

    def replies(self, site: str) -> str:
        return f"{self.site(site)}/replies"

    def discovery(self, site: str) -> str:
        return f"{self.discovery_prefix}/device/villagegrid_{site}/config"

    def ha_status(self) -> str:
        return f"{self.discovery_prefix}/status"

    def subscriptions(self) -> list[str]:
        """What the service subscribes to: Home Assistant's status and each inbound topic."""
        return [self.ha_status()] + [f"{self.base}/+/{what}" for what in INBOUND]

    def parse_inbound(self, topic: str) -> tuple[str, str] | None:
        """``(site, what)`` of an inbound topic, else None."""
        head = f"{self.base}/"
        if not topic.startswith(head):
            return None
        parts = topic[len(head):].split("/")
        if len(parts) != 2 or parts[1] not in INBOUND or not parts[0]:
            return None
        return parts[0], parts[1]
