"""The office: the PIN-protected part of the app where committee staff keep the
register, passes, holds and visitors, and see today's figures, traces and exports.

``context.OfficeContext`` is what every tab gets, with the office's two database
workers (:class:`kiosk.ui.ops.DbWorker`): ``jobs`` runs the writes and slow reads,
``reader`` the tables' pages and the dialogs' small reads; every read and write is an
op on one of them, never a query on the UI thread. ``table`` is the one model/view
table over a query that every list in the office uses.
"""
