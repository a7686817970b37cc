"""Everything Gatepass prints or writes as PDF, with Qt's PDF writer or a printer:
pass cards (``cards``), the street office's daily report (``daily_report``), and the
one place that sets up an A4 PDF writer and its painter (``pdf``)."""
