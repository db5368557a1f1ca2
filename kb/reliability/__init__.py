"""Reliability: broken and hostile input, kills, and the figures `kb reliability` prints."""
