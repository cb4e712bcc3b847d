"""CSV cells: the apostrophe the export puts before a formula start, and taking it off again."""
import pytest

from komet.web.spreadsheets import as_typed, safe_cell


@pytest.mark.parametrize("value", ["=SUM(A1)", "+1", "-2", "@user", "\tTab", "\rReturn", "Plain", "", "'", "''",
                                   "'plain", "don't", "a=b"])
def test_a_cell_the_export_made_safe_reads_back_as_it_was(value):
    assert as_typed(safe_cell(value)) == value


def test_only_the_apostrophe_before_a_formula_start_comes_off():
    assert as_typed("'=x") == "=x" and as_typed("''=x") == "''=x" and as_typed("'x") == "'x"
    assert as_typed("'@user") == "@user" and as_typed("'") == "'"
