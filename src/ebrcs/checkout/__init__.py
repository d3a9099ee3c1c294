"""Checkout sessions, the live cart and the frame pipeline."""
