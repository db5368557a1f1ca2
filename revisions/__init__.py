"""Revisions: the revision log and change data turned into a timeline of versions. Pure."""
