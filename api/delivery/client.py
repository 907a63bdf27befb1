"""A paho-mqtt 2.x client (MQTT 5) configured from the service settings."""

from __future__ import annotations

import os
import socket
from typing import Any

from api.delivery.messages import Message
from api.settings import Settings

#: Keep-alive of the service's broker connection [s].
KEEPALIVE_S = 30


def client_id(settings: Settings) -> str:
    return settings.mqtt_client_id or f"villagegrid-{socket.gethostname()}-{os.getpid()}"[:64]


def make_client(settings: Settings, will: Message | None = None) -> Any:
    """A client with the settings' credentials, TLS, last will and reconnect backoff; not
    yet connected."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id(settings),
                         protocol=mqtt.MQTTv5)
    if settings.mqtt_username is not None:
        password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
        client.username_pw_set(settings.mqtt_username, password)
    if settings.mqtt_tls:
        client.tls_set(ca_certs=settings.mqtt_ca_file, certfile=settings.mqtt_cert_file,
                       keyfile=settings.mqtt_key_file)
    if will is not None:
        client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
    client.reconnect_delay_set(min_delay=1, max_delay=int(settings.mqtt_reconnect_max_s))
    return client


def publish(client: Any, message: Message) -> bool:
    """Hand ``message`` to the client; False when it could not be queued (not connected)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    properties = None
    if message.expiry_s is not None:
        properties = Properties(PacketTypes.PUBLISH)
        properties.MessageExpiryInterval = message.expiry_s
    info = client.publish(message.topic, message.payload, qos=message.qos,
                          retain=message.retain, properties=properties)
    return bool(info.rc == mqtt.MQTT_ERR_SUCCESS)
