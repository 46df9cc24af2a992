"""Batch analysis past one process: grinlab.scale.ray_engine runs ``grinlab analyze`` on Ray."""
