"""Operations: health, self test, audit trail, live room status.

Imports the ground floor and adapters through ports.
"""
