"""Request schemas of the controllers (server create/update/rebuild/resize
schemas live with their API flows)."""
