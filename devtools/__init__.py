"""Tools that run RoomCal without Azure or Microsoft 365: Azurite, the dev host, the M365 emulator."""
