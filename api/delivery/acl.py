"""The Mosquitto ACL that keeps each site's topics to that site's controller.

Each controller logs in with its site's name as its user name (password or client
certificate with ``use_identity_as_username``); ``%u`` in a Mosquitto ``pattern`` line is
that name, so a controller reads only its own site and writes only its own inbound topics.
"""

from __future__ import annotations

from api.delivery.topics import INBOUND, Topics


def mosquitto_acl(topics: Topics, service_user: str = "villagegrid",
                  homeassistant_user: str = "homeassistant") -> str:
    """The text of a Mosquitto ``acl_file`` for these topics (docs/api.md, "MQTT ACL")."""
    base, prefix = topics.base, topics.discovery_prefix
    lines = [
        "# the plan service: publishes every site, takes every site's inbound topics",
        f"user {service_user}",
        f"topic readwrite {base}/#",
        f"topic readwrite {prefix}/#",
        "",
        "# Home Assistant: reads plans and discovery, announces itself",
        f"user {homeassistant_user}",
        f"topic read {base}/#",
        f"topic readwrite {prefix}/#",
        "",
        "# every other user is a site's controller, named after its site",
        f"pattern read {base}/%u/#",
        f"pattern read {base}/status",
    ]
    lines += [f"pattern write {base}/%u/{what}" for what in INBOUND]
    return "\n".join(lines) + "\n"
