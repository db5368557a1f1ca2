"""Loaders: policy text in, typed ``PolicyDocument`` out. Pure: no database."""
