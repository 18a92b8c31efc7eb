"""The A4 reference solutions (instructor-side, never released)."""
