"""Registration discipline (R12) and the two divisions' invitations (R13)."""
