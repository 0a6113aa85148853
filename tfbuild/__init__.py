"""tfbuild: reproducible TensorFlow-from-source builds.

The library knows nothing of Invoke: tasks.py parses flags and calls plain functions here.
"""

__version__ = "0.1.0"
