"""fastmlp's version, in a module of its own so that the package's modules
can read it without importing the package they are part of."""
__version__ = "0.1.0"
