"""Evaluation: metrics, report (plots, mistakes, calibration, robustness), run comparison.

Numpy/OpenCV/matplotlib only (no torch), except ``visualize`` which looks inside torch models.
"""
