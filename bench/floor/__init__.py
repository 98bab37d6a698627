"""The floor, by transport (issue 23): a no-op actor service doing exactly the service's
exchanges with daprd and nothing else (``app``), and the driver that measures it against
the service on each transport (``driver``; ``python -m bench.floor``)."""
