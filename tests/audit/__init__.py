"""Tests (a package, so that test helpers and conftest modules of different folders never collide)."""
