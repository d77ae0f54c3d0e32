"""RoomCal's core package: settings, models, services, ports and adapters."""

__version__ = "0.1.0"
