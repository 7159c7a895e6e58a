"""Webhook endpoints of a unit and their delivery log."""
