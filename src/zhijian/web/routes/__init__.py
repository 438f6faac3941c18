"""Routes per area; each module has its HTML pages and its /api/v1 twin."""
