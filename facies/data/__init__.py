"""From a survey to training batches: sources (store, SEG-Y, synthetic, F3 benchmark),
splits, tiling, normalisation, patches and traces, sharded over DDP ranks."""
