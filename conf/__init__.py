"""Hydra configs of facies; installed as the package ``facies.conf``."""
