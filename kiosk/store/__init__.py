"""Everything that touches the SQLite file. Imports core and sqlite-utils, never Qt."""
