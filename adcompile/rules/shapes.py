"""Scans, differences, selection and rearrangement of arrays (cumsum, diff, flip, roll,
diag, tril, sort, repeat, tile, ...).
"""
