"""The exam at the seat: sign-in at a lab workstation, the frozen paper, saves, time, results."""
