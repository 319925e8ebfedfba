"""Tools for developing provisionhub, used by the Makefile, the test suite and the benchmarks; not part of
the product (it lives outside src/ and is never installed). Imported from the repository's root."""
