"""The administrator's pages: users and organisations."""
