"""The files Gatepass reads and writes for people: the register spreadsheet it imports
(``register_import``), the visit log and trace results it exports (``visit_export``,
``trace_export``), and the streaming XLSX writer both exports use (``xlsx``)."""
