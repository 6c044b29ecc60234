"""Guardrails of the global-platform stacks: importable rules, wired into a CrossGuard pack by __main__.py."""
