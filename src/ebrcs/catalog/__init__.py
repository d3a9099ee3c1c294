"""Products, their photos and vectors, and the live product index."""
