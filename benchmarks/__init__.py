"""Reproducible performance measurements that print ratios.

Every benchmark runs inmail ("ours") and a baseline side by side in the same
run, on the same machine, and prints one JSON line with both rates and their
ratio, so a noisy machine slows both sides rather than the verdict.
"""
