"""Prediction on whole surveys: sliding windows, blending, streaming, outputs."""
