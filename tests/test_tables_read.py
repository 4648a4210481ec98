"""core.data.table: CSV files as spreadsheets export them, column kinds, proposals, target
checks, the split, every bad input, and the two shipped tables."""

from __future__ import annotations

import codecs
import io

import numpy as np
import pytest
from conftest import ROOT
from hostile_files import png_bytes, zip_of
from PIL import Image

from core.base.errors import InputError
from core.data.table import csv_file, proposals
from core.data.table.csv_file import read_table
from core.data.table.proposals import check_target, propose_drop, propose_task, target_note
from core.data.table.split import split_rows

ASSETS = ROOT / "core" / "assets" / "tables"


def write(tmp_path, text: str, encoding: str = "utf-8", name: str = "t.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def kinds(table) -> dict[str, str]:
    return {c.name: c.kind for c in table.columns}


def col(table, name):
    return table.column(name)


# ----- delimiters, decimals, encodings -----------------------------------------------------------


def test_plain_comma_file_numbers_and_categories(tmp_path):
    path = write(tmp_path, "size,colour,price\n1,red,10.5\n2,blue,11\n3,red,-0.25\n4,red,1e3\n")
    t = read_table(path)
    assert (t.source, t.delimiter, t.decimal, t.encoding) == ("t.csv", ",", ".", "utf-8")
    assert t.frame.shape == (4, 3)
    assert t.frame["price"].dtype == np.float64
    assert t.frame["price"].tolist() == [10.5, 11.0, -0.25, 1000.0]
    assert t.frame["colour"].dtype == object and t.frame["colour"].tolist() == ["red", "blue", "red", "red"]
    assert kinds(t) == {"size": "number", "colour": "category", "price": "number"}
    assert col(t, "colour").distinct == 2 and col(t, "colour").examples == ("red", "blue")
    assert t.row_numbers.tolist() == [2, 3, 4, 5]  # the header is row 1
    assert t.notes == []


def test_utf8_bom_is_not_part_of_the_first_name(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + "nome,idade\nJoão,31\nAna,40\n".encode())
    t = read_table(path)
    assert t.encoding == "utf-8-sig"
    assert list(t.frame.columns) == ["nome", "idade"]
    assert t.frame["nome"].tolist() == ["João", "Ana"]


def test_cp1252_file_with_accents_falls_back_and_says_so(tmp_path):
    text = "cidade;preço;média\nSão Paulo;10;7,5\nBrasília;12;8,25\nCuritiba;9;6\n"
    t = read_table(write(tmp_path, text, "cp1252"))
    assert t.encoding == "cp1252"
    assert list(t.frame.columns) == ["cidade", "preço", "média"]
    assert t.frame["cidade"].tolist() == ["São Paulo", "Brasília", "Curitiba"]
    assert t.frame["média"].tolist() == [7.5, 8.25, 6.0]
    assert any("cp1252" in n for n in t.notes)


def test_bytes_undefined_in_cp1252_are_read_as_latin1(tmp_path):
    data = b"name,v\nA\x81B,1\nC,2\n"  # 0x81 is not a cp1252 character
    t = read_table(data, name="odd.csv")
    assert t.encoding == "latin-1" and t.frame["name"].tolist() == ["A\x81B", "C"]


def test_utf16_tab_file_as_excel_unicode_text_saves_it():
    data = codecs.BOM_UTF16_LE + "a\tb\n1\tx\n2\ty\n".encode("utf-16-le")
    t = read_table(data, name="unicode.txt")
    assert (t.encoding, t.delimiter) == ("utf-16", "\t")
    assert t.frame["a"].tolist() == [1.0, 2.0]


def test_semicolon_file_with_decimal_commas_and_thousands(tmp_path):
    text = "produto;preço;peso;qtd\nA;1.234,56;0,5;3\nB;99,9;1,25;4\nC;2.000,00;10;5\n"
    t = read_table(write(tmp_path, text))
    assert (t.delimiter, t.decimal) == (";", ",")
    assert t.frame["preço"].tolist() == [1234.56, 99.9, 2000.0]
    assert t.frame["peso"].tolist() == [0.5, 1.25, 10.0]
    assert t.frame["qtd"].tolist() == [3.0, 4.0, 5.0]
    assert kinds(t)["preço"] == "number"
    assert any("Decimal commas" in n and "preço" in n for n in t.notes)
    assert any("Thousands" in n and "preço" in n for n in t.notes)


def test_decimal_comma_column_with_a_word_stays_text_and_the_note_names_it(tmp_path):
    rows = "".join(f"{i};{i},5\n" for i in range(1, 9)) + "9;abc\n" + "10;10,5\n"
    t = read_table(write(tmp_path, "n;x\n" + rows))
    assert kinds(t)["x"] in ("category", "text")
    assert t.frame["x"].tolist()[0] == "1,5"  # not converted: not every value is a number
    note = next(n for n in t.notes if "mixes numbers with text" in n)
    assert "'abc'" in note and "row 10" in note and "'x'" in note


def test_tab_separated_file(tmp_path):
    t = read_table(write(tmp_path, "a\tb\tc\n1\t2,5\thello, world\n3\t4\tbye\n"))
    assert t.delimiter == "\t"
    assert t.frame["c"].tolist() == ["hello, world", "bye"]
    assert t.frame["b"].tolist() == [2.5, 4.0]  # a tab file with a decimal comma


def test_quoted_fields_with_delimiter_quote_and_newline_inside(tmp_path):
    text = 'id,comment,score\n1,"fine, really",3\n2,"two\nlines",4\n3,"say ""hi""",5\n4,plain,6\n'
    t = read_table(write(tmp_path, text))
    assert t.delimiter == ","
    assert t.frame["comment"].tolist() == ["fine, really", "two\nlines", 'say "hi"', "plain"]
    assert t.frame["score"].tolist() == [3.0, 4.0, 5.0, 6.0]
    assert t.row_numbers.tolist() == [2, 3, 4, 5]  # a cell with a line break is one spreadsheet row


def test_quoted_thousands_in_a_comma_file(tmp_path):
    t = read_table(write(tmp_path, 'city,people\nA,"1,234,567"\nB,"12,000.5"\nC,800\n'))
    assert t.decimal == "." and t.frame["people"].tolist() == [1234567.0, 12000.5, 800.0]


def test_a_comma_inside_header_names_does_not_fool_the_sniffer(tmp_path):
    t = read_table(write(tmp_path, "price, EUR;qty\n1,5;3\n2,25;4\n"))
    assert (t.delimiter, list(t.frame.columns)) == (";", ["price, EUR", "qty"])
    assert t.frame["price, EUR"].tolist() == [1.5, 2.25]


def test_one_column_file_reads_with_the_default_comma(tmp_path):
    t = read_table(write(tmp_path, "only\n1\n2\n3\n"))
    assert (t.delimiter, list(t.frame.columns), t.frame["only"].tolist()) == (",", ["only"], [1.0, 2.0, 3.0])


def test_point_decimals_in_a_semicolon_file_when_the_values_say_so(tmp_path):
    t = read_table(write(tmp_path, "a;b\n1.5;1.234\n2.25;2\n"))
    assert t.decimal == "." and t.frame["b"].tolist() == [1.234, 2.0]
    t2 = read_table(write(tmp_path, "a;b\n1.234;1\n12.500;2\n"))  # no decimal point anywhere: thousands
    assert t2.decimal == "," and t2.frame["a"].tolist() == [1234.0, 12500.0]


def test_file_like_upload_and_str_path(tmp_path):
    up = io.BytesIO(b"x,y\n1,2\n3,4\n")
    up.name = "/somewhere/upload.csv"
    t = read_table(up)
    assert t.source == "upload.csv" and t.frame["y"].tolist() == [2.0, 4.0]
    t2 = read_table(str(write(tmp_path, "x,y\n1,2\n3,4\n")), name="shown.csv")
    assert t2.source == "shown.csv"


def test_blank_and_repeated_header_names_are_renamed_with_notes(tmp_path):
    t = read_table(write(tmp_path, "a,,a,b,a\n1,2,3,4,5\n6,7,8,9,10\n"))
    assert list(t.frame.columns) == ["a", "column_2", "a_2", "b", "a_3"]
    assert t.frame["a_2"].tolist() == [3.0, 8.0]
    assert any("column_2" in n for n in t.notes)
    assert any("a -> a_2" in n and "a -> a_3" in n for n in t.notes)


def test_blank_lines_and_empty_trailing_fields_are_ignored(tmp_path):
    t = read_table(write(tmp_path, "a;b\n\n1;2;\n;;\n3;4;;\n"))
    assert t.frame.shape == (2, 2) and t.row_numbers.tolist() == [3, 5]
    assert any("rows 3, 5" in n for n in t.notes)


# ----- column kinds ----------------------------------------------------------------------------


def test_missing_cells_are_nan_or_none_and_counted(tmp_path):
    t = read_table(write(tmp_path, "n,c\n1,x\n,NA\nNA,y\n4,\n5,x\n6,y\n"))
    assert np.isnan(t.frame["n"].iloc[1]) and np.isnan(t.frame["n"].iloc[2])
    assert t.frame["c"].iloc[1] is None and t.frame["c"].iloc[3] is None
    assert (col(t, "n").missing, col(t, "c").missing) == (2, 2)
    assert (col(t, "n").kind, col(t, "c").kind) == ("number", "category")


def test_few_distinct_numbers_stay_numbers(tmp_path):
    rows = "".join(f"{i % 2},{1 + i % 5}\n" for i in range(30))
    t = read_table(write(tmp_path, "flag,rating\n" + rows))
    assert kinds(t) == {"flag": "number", "rating": "number"}
    assert col(t, "flag").distinct == 2


@pytest.mark.parametrize(
    "values",
    [
        ["2024-01-05", "2024-02-11", "2023-12-31 10:30", "2024-03-01"],
        ["05/01/2024", "31/12/2023", "11/02/2024", "01/03/2024"],
        ["01.05.2024", "31.12.2023", "11.02.2024", "01.03.2024"],
    ],
)
def test_dates_in_common_formats_are_dates_kept_as_text(tmp_path, values):
    t = read_table(write(tmp_path, "when,v\n" + "".join(f"{d},{i}\n" for i, d in enumerate(values))))
    assert col(t, "when").kind == "date"
    assert t.frame["when"].tolist() == values


def test_category_versus_free_text(tmp_path):
    words = ["alpha", "beta", "gamma"]
    rows = "".join(f"{words[i % 3]},comment number {i} about things\n" for i in range(40))
    t = read_table(write(tmp_path, "group,note\n" + rows))
    assert kinds(t) == {"group": "category", "note": "text"}
    assert col(t, "note").distinct == 40


def test_all_empty_column_is_not_an_error(tmp_path):
    t = read_table(write(tmp_path, "a;empty;b\n5;;x\n3;;y\n9;;x\n"))
    assert col(t, "empty").missing == 3 and col(t, "empty").distinct == 0
    assert any("empty in every row" in n and "empty" in n for n in t.notes)
    assert propose_drop(t) == ["empty"]


# ----- proposals -------------------------------------------------------------------------------


def table_of(tmp_path, header, rows):
    return read_table(write(tmp_path, header + "\n" + "".join(r + "\n" for r in rows)))


def test_propose_task_from_the_target_column(tmp_path):
    rng = np.random.default_rng(0)
    rows = [f"{rng.normal():.4f},{i % 2},{1 + i % 5},{['a', 'b'][i % 2]},{0.5 + i % 3}" for i in range(50)]
    t = table_of(tmp_path, "price,flag,stars,label,half", rows)
    assert propose_task(t, "price") == "regression"
    assert propose_task(t, "flag") == "classification"
    assert propose_task(t, "stars") == "classification"
    assert propose_task(t, "label") == "classification"
    assert propose_task(t, "half") == "regression"  # few values, but not whole numbers
    many = table_of(tmp_path, "k", [str(i % (proposals.CLASSIFICATION_MAX_DISTINCT + 1)) for i in range(40)])
    assert propose_task(many, "k") == "regression"
    with pytest.raises(InputError, match="no column 'nope'.*price, flag, stars"):
        propose_task(t, "nope")


def test_propose_drop_ids_and_empty_columns(tmp_path):
    rows = [f"{i},{100 + i},{7 - i},user{i},{['x', 'y'][i % 2]},,{i * 3}" for i in range(6)]
    t = table_of(tmp_path, "Unnamed: 0,seq,down,login,group,blank,triple", rows)
    assert propose_drop(t) == ["Unnamed: 0", "seq", "login", "blank"]
    t2 = table_of(tmp_path, "ID,value", ["9,4", "3,2", "5,7"])
    assert propose_drop(t2) == ["ID"]
    shuffled = table_of(tmp_path, "n,v", ["3,1", "1,2", "2,1", "4,2"])
    assert propose_drop(shuffled) == []  # unique but not counting up by one


# ----- the target ------------------------------------------------------------------------------


def test_check_target_accepts_good_targets(tmp_path):
    t = table_of(tmp_path, "x,y,c", [f"{i},{i * 1.5},{'ab'[i % 2]}" for i in range(10)])
    check_target(t, "y", "regression")
    check_target(t, "c", "classification")
    with pytest.raises(InputError, match="10 classes of 'x' have fewer than 2 rows: 0 \\(1 row\\), 1 \\(1 row\\)"):
        check_target(t, "x", "classification")  # ten values of one row each


def test_check_target_refusals(tmp_path):
    t = table_of(
        tmp_path, "x,one,c,rare,when", [f"{i},5,{'ab'[i % 2]},{'p' if i else 'q'},2024-01-0{i + 1}" for i in range(8)]
    )
    with pytest.raises(InputError, match="no column 'z'. Its columns: x, one, c, rare, when"):
        check_target(t, "z", "regression")
    with pytest.raises(InputError, match="one value only \\(5.0\\)"):
        check_target(t, "one", "regression")
    with pytest.raises(InputError, match="Regression predicts a number.*category"):
        check_target(t, "c", "regression")
    with pytest.raises(InputError, match="1 class of 'rare' has fewer than 2 rows: q \\(1 row\\)"):
        check_target(t, "rare", "classification")
    with pytest.raises(InputError, match="holds dates"):
        check_target(t, "when", "classification")
    with pytest.raises(InputError, match="Expected the task"):
        check_target(t, "x", "clustering")


def test_small_classes_are_named(tmp_path):
    t = table_of(tmp_path, "x,k", [f"{i},{i % 4 if i < 6 else 0}" for i in range(12)])
    with pytest.raises(InputError, match="2 classes of 'k' have fewer than 2 rows: 2 \\(1 row\\), 3 \\(1 row\\)"):
        check_target(t, "k", "classification")


def test_missing_target_values_are_a_note_not_an_error(tmp_path):
    t = table_of(tmp_path, "x,y", ["1,1.5", "2,", "3,2.5", "4,NA", "5,3.5"])
    check_target(t, "y", "regression")
    note = target_note(t, "y")
    assert note is not None and note.startswith("2 rows have no value in 'y'") and "rows 3, 5" in note
    assert target_note(t, "x") is None
    empty = table_of(tmp_path, "x,y", ["1,", "2,", "3,4"])
    with pytest.raises(InputError, match="has a value in 1 of 3 rows"):
        check_target(empty, "y", "regression")


# ----- the split -------------------------------------------------------------------------------


def test_split_is_deterministic_disjoint_and_complete():
    a = split_rows(100, seed=7, validation=0.2, test=0.1)
    b = split_rows(100, seed=7, validation=0.2, test=0.1)
    c = split_rows(100, seed=8, validation=0.2, test=0.1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["test"], c["test"])
    assert (len(a["train"]), len(a["validation"]), len(a["test"])) == (70, 20, 10)
    together = np.concatenate([a["train"], a["validation"], a["test"]])
    assert sorted(together.tolist()) == list(range(100))  # disjoint and complete
    assert a["train"].dtype == np.int64


def test_split_gives_each_requested_part_a_row_and_refuses_too_few():
    s = split_rows(3, seed=0, validation=0.1, test=0.1)
    assert (len(s["train"]), len(s["validation"]), len(s["test"])) == (1, 1, 1)
    assert len(split_rows(5, seed=0, validation=0.3, test=0)["test"]) == 0
    with pytest.raises(InputError, match="too few"):
        split_rows(2, seed=0, validation=0.3, test=0.2)
    with pytest.raises(InputError, match="Expected validation and test fractions"):
        split_rows(10, seed=0, validation=0.6, test=0.5)


# ----- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, what",
    [
        (png_bytes(Image.new("RGB", (4, 4))), "PNG image"),
        (zip_of({"a.csv": b"x,y\n1,2\n"}), "zip archive"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF document"),
        (bytes(range(256)) * 4, "binary data"),
    ],
)
def test_not_a_csv_is_refused_by_content(tmp_path, data, what):
    path = tmp_path / "renamed.csv"
    path.write_bytes(data)
    with pytest.raises(InputError, match=f"renamed.csv is not a CSV file.*{what}"):
        read_table(path)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "is empty \\(0 bytes\\)"),
        (b"\n \n\r\n", "only blank lines"),
        (b"a,b,c\n", "header row \\(a, b, c\\) but no data rows"),
        (b"a,b\n1,2\n", "only one data row \\(row 2\\)"),
    ],
)
def test_empty_header_only_and_one_row_are_refused(data, message):
    with pytest.raises(InputError, match=message):
        read_table(data, name="f.csv")


def test_files_over_the_limits_are_refused_with_both_numbers(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_file, "MAX_FILE_BYTES", 2 * csv_file.MB)
    path = write(tmp_path, "a,b\n" + "1,2\n" * (5 * csv_file.MB // 8))  # 2.5 MB
    with pytest.raises(InputError, match="t.csv is too large: 2.5 MB. Tables are limited to 2 MB and 1,000,000 rows"):
        read_table(path)
    with pytest.raises(InputError, match="too large"):
        read_table(path.read_bytes())

    class Upload(io.BytesIO):
        size = 10**9  # a Streamlit upload says its size: refused before reading

    with pytest.raises(InputError, match="big.csv is too large: 953.7 MB"):
        read_table(Upload(b""), name="big.csv")
    monkeypatch.setattr(csv_file, "MAX_FILE_BYTES", 3 * csv_file.MB)
    monkeypatch.setattr(csv_file, "MAX_ROWS", 10)
    with pytest.raises(InputError, match="more than 10 data rows. Tables are limited to 3 MB and 10 rows"):
        read_table(path)


def test_ragged_rows_are_named_by_row_number(tmp_path):
    text = "a,b,c\n1,2,3\n4,5\n6,7,8\n9,10,11,12\n13,14,15\n"
    with pytest.raises(
        InputError, match="2 rows do not have the header's 3 fields \\(row 3: 2 fields; row 5: 4 fields\\)"
    ):
        read_table(write(tmp_path, text))
    many = "a,b\n" + "1,2,3\n" * 8
    with pytest.raises(InputError, match="8 rows.*row 6: 3 fields; and 3 more"):
        read_table(write(tmp_path, many))


def test_a_quote_never_closed_is_named_by_its_row(tmp_path):
    with pytest.raises(InputError, match="a quote opens in row 3 and is never closed"):
        read_table(write(tmp_path, 'a,b\r\n1,2\r\n3,"oops\r\n4,5\r\n6,7\r\n'))


def test_a_quote_inside_an_unquoted_cell_is_kept(tmp_path):
    t = read_table(write(tmp_path, "name,height\nAna,5'11\"\nBia,6'0\"\n"))
    assert t.frame["height"].tolist() == ["5'11\"", "6'0\""]


def test_paths_that_are_not_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_table(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="Received a folder"):
        read_table(tmp_path)
    with pytest.raises(InputError, match="Received: int"):
        read_table(42)  # type: ignore[arg-type]


# ----- the shipped tables ----------------------------------------------------------------------


def test_shipped_diabetes_table_is_a_regression():
    t = read_table(ASSETS / "diabetes.csv")
    assert t.frame.shape == (442, 11) and t.notes == []
    assert set(kinds(t).values()) == {"number"}
    assert t.frame["progression"].iloc[:3].tolist() == [151.0, 75.0, 141.0]
    assert propose_task(t, "progression") == "regression"
    assert propose_task(t, "sex") == "classification"
    assert propose_drop(t) == []
    check_target(t, "progression", "regression")


def test_shipped_penguins_table_is_a_classification():
    t = read_table(ASSETS / "penguins.csv")
    assert t.frame.shape == (344, 8)
    assert kinds(t) == {
        "species": "category", "island": "category", "bill_length_mm": "number", "bill_depth_mm": "number",
        "flipper_length_mm": "number", "body_mass_g": "number", "sex": "category", "year": "number",
    }  # fmt: skip
    assert col(t, "species").distinct == 3 and col(t, "sex").missing == 11 and col(t, "body_mass_g").missing == 2
    assert propose_task(t, "species") == "classification"
    check_target(t, "species", "classification")
    assert propose_drop(t) == []


def test_shipped_tables_are_small_and_have_a_notice():
    for name in ("diabetes.csv", "penguins.csv"):
        assert (ASSETS / name).stat().st_size < 50_000
    notice = (ASSETS / "NOTICE.md").read_text()
    for needed in ("diabetes.csv", "penguins.csv", "BSD 3-Clause", "CC0", "scikit-learn 1.7.2", "palmerpenguins 0.1.6"):
        assert needed in notice


def test_one_data_row_is_enough_to_predict_but_not_to_train():
    data = b'a,note\n1,"two\nlines"\n'  # one row, its quoted cell spanning two lines
    with pytest.raises(InputError, match="only one data row \\(row 2\\)"):
        read_table(data, "one.csv")
    table = read_table(data, "one.csv", min_rows=1)
    assert table.frame["note"].tolist() == ["two\nlines"] and table.row_numbers.tolist() == [2]


# ----- the column to predict, proposed with a reason -----------------------------------------


def test_a_shipped_table_proposes_the_column_it_was_published_to_predict():
    shipped = ROOT / "core" / "assets" / "tables"
    for name, target in (("penguins.csv", "species"), ("diabetes.csv", "progression")):
        table = read_table(shipped / name)
        assert proposals.declared_target(shipped / name) == target
        assert proposals.propose_target(table, target) == (target, "the column this table was published to predict")
    penguins = read_table(shipped / "penguins.csv")  # its last column is `year`: never the guess
    assert proposals.propose_target(penguins)[0] == "species"  # a copy elsewhere: named like a target


def test_a_guess_for_any_other_table_says_why(tmp_path):
    assert proposals.declared_target(write(tmp_path, "a,b\n1,2\n")) is None  # only the shipped folder declares
    named = read_table(write(tmp_path, "label,x,year\n" + "".join(f"{'ab'[i % 2]},{i * 3 % 7},{2000 + i}\n"
                                                                   for i in range(20))))  # fmt: skip
    assert proposals.propose_target(named) == ("label", "its name says it is what the table predicts")
    why = "the last column of numbers or categories that is not an id nor a time"
    dated = read_table(write(tmp_path, "colour,size,year\n" + "".join(
        f"{['red', 'blue', 'green'][i % 3]},{['S', 'L'][i % 2]},{2007 + i % 3}\n" for i in range(20))))  # fmt: skip
    assert proposals.propose_target(dated) == ("size", why)  # not the year
    numbers = read_table(write(tmp_path, "a,b,row\n" + "".join(f"{i * 0.5},{i % 4},{i}\n" for i in range(20))))
    assert proposals.propose_target(numbers) == ("b", why)  # not the id
