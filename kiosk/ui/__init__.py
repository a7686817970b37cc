"""Everything that shows or prints: Qt lives here and only here."""
