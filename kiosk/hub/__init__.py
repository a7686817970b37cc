"""The district hub (issue 14; docs/hub.md): an ASGI service on PostgreSQL that carries
the same signed change sets as the compound's bundles between offices and gates that
are online, and reads the street office's reports off them.

The hub holds no state of its own: every process serves any request from what is in
PostgreSQL, so a district runs several behind one load balancer.
"""
