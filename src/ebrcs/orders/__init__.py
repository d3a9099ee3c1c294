"""Confirmed orders, order history and the admin dashboard figures."""
