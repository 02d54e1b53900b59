"""Side-by-side measurements on real corpora; every figure in docs/benchmarks.md comes from a script here."""
