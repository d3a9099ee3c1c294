"""The browser app: pages and static assets served by the API process."""
