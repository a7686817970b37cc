"""A node's side of the district hub (docs/hub.md): the HTTP client (``client``) and
enrolling and syncing (``node``). Imports the store and the core; nothing of Qt."""
