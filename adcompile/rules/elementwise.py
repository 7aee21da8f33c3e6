"""NumPy's function forms of the operators, more elementwise functions, and SciPy's
special functions used in losses.
"""
