"""From a survey to training batches: splits, tiling, normalisation, patches."""
