"""The services, one package and one process each."""
