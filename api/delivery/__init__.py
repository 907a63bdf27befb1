"""Delivery beyond polling: the plan pushed to an MQTT broker, with Home Assistant discovery,
and measured state and grid-operator limits taken back from it (docs/api.md, "MQTT")."""
