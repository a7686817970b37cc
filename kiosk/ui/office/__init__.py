"""The office: the PIN-protected part of the app where committee staff keep the
register, passes, holds and visitors, and see today's figures, traces and exports.

``context.OfficeContext`` is what every tab gets; ``jobs.OfficeJobs`` runs the office's
database writes (and slow reads) on a thread of their own; ``table`` is the one
model/view table over a query that every list in the office uses.
"""
