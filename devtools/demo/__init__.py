"""The full local demo (`make demo`): RoomCal on Azurite, the dev host and the Microsoft 365 emulator."""
