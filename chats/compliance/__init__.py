"""Compliance: the admin-change trail, HCP history export, the admin dashboard (with its daily rollup), retention."""
