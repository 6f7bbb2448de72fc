"""Compliance: the admin-change trail, HCP history export, the admin dashboard's aggregates, retention."""
