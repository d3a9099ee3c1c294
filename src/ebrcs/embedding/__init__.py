"""Image embedders: turning product photos and crops into L2-normalised vectors."""
