"""Measuring the project: the benchmark harness (each figure beside a baseline of the same run),
decision speed on a corpus policy, and the synthetic corpus at payer scale.

Tooling on top: may import everything; nothing imports it but the ``kb bench`` command.
"""
