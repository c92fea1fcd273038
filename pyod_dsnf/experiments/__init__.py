"""The research harness: the seeded benchmark, the method comparison loop, the PyOD
baselines and the synthetic demo. Library code never imports from here."""
