"""WSGI entry points: the application modules a WSGI server loads
(``nova.wsgi.osapi_compute``), and the server nova-api runs them in."""
