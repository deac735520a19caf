"""Model sets: members, exports, your own models."""
