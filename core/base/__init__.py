"""The base layer: errors, languages, settings declarations, atomic files, CLI plumbing. Imports nothing of core."""
