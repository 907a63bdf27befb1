"""The Modbus bridge: dispatch from the plan service turned into register writes beside a
site's controller, measured values posted back as telemetry (docs/api.md, "Modbus bridge")."""
