"""CSV downloads that open safely in a spreadsheet and never sit in memory whole.

A cell starting with =, +, -, @, a tab or a carriage return is a formula to Excel, LibreOffice
and Google Sheets (CSV injection): such a cell gets a leading apostrophe, so it shows as typed
and runs nothing.
"""
import csv
import io

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """`value` as text a spreadsheet shows as typed; None is an empty cell."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def as_typed(cell):
    """A cell of an uploaded CSV as it was before `safe_cell`: the apostrophe the export put
    before a formula start comes off, and nothing else (a spreadsheet saving the file drops
    it itself; a file edited as text keeps it)."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


def csv_chunks(header, batches):
    """CSV text for `header` and `batches` (an iterable of lists of rows), one chunk per batch,
    every cell made safe. UTF-8 with a byte-order mark, so spreadsheet apps keep accents and emoji."""
    out = io.StringIO()
    writer = csv.writer(out)
    out.write("\ufeff")
    writer.writerow([safe_cell(cell) for cell in header])
    for rows in batches:
        writer.writerows([safe_cell(cell) for cell in row] for row in rows)
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    if out.tell():
        yield out.getvalue()
