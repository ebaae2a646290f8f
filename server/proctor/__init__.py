"""The proctor's side of a room: who waits at which seat, admission by ID card, late entry."""
