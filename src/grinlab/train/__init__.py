"""Training side of grinlab (needs the ``train`` extra: torch). Inference never imports this."""
