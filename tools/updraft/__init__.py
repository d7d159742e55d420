# updraft host tools (CPython only): dev server, simulator, signing, benchmarks.
