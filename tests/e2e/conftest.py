"""Fixtures for the end-to-end suite; the code lives in e2e_util.py so that
test modules can import its helpers without clashing with other conftests."""

from e2e_util import *  # noqa: F401,F403  (fixtures and the collection hook)
