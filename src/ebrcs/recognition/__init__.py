"""Turning image embeddings into product matches: scoring, voting and rejection."""
