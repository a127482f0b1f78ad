"""The returns domain: pure rules, standard library only (see README.md)."""
