"""A donor's monthly fulfilment statement as a printable A4 PDF (WeasyPrint), from its event payload."""

from shared.statement.pdf import render_pdf

__all__ = ["render_pdf"]
