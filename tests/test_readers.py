"""Tests for lineage.readers: every format read from real files written into tmp_path."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest

from lineage.exceptions import InputError, UsageError
from lineage.readers import (
    LINE_FORMATS,
    BadRecord,
    Record,
    detect_format,
    expand_paths,
    file_sha256,
    iter_records,
)


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def lines(*objs: object) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objs)


def good(records: list[Record | BadRecord]) -> list[tuple[int, dict]]:
    return [(r.line, r.data) for r in records if isinstance(r, Record)]


def bad(records: list[Record | BadRecord]) -> list[tuple[int, str]]:
    return [(r.line, r.error) for r in records if isinstance(r, BadRecord)]


# --- JSONL -----------------------------------------------------------------------------------------


def test_jsonl_records_and_line_numbers(tmp_path: Path) -> None:
    p = write(tmp_path / "d.jsonl", lines({"a": 1}, {"a": 2}, {"a": 3}))
    records = list(iter_records(p))
    assert all(isinstance(r, Record) for r in records)
    assert good(records) == [(1, {"a": 1}), (2, {"a": 2}), (3, {"a": 3})]
    assert {r.path for r in records} == {str(p)}
    assert {r.split for r in records} == {None}


def test_jsonl_path_is_kept_as_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "sub" / "d.jsonl", lines({"a": 1}))
    monkeypatch.chdir(tmp_path)
    (record,) = iter_records("sub/d.jsonl")
    assert record.path == str(Path("sub/d.jsonl"))


def test_jsonl_blank_lines_are_skipped_but_counted(tmp_path: Path) -> None:
    p = write(tmp_path / "d.jsonl", b'{"a": 1}\n\n   \n\t\n{"a": 2}\n\n')
    records = list(iter_records(p))
    assert bad(records) == []
    assert good(records) == [(1, {"a": 1}), (5, {"a": 2})]


def test_jsonl_bom_and_crlf(tmp_path: Path) -> None:
    p = write(tmp_path / "d.jsonl", b'\xef\xbb\xbf{"a": 1}\r\n{"a": "x"}\r\n\r\n{"a": 3}')
    records = list(iter_records(p))
    assert bad(records) == []
    assert good(records) == [(1, {"a": 1}), (2, {"a": "x"}), (4, {"a": 3})]


def test_jsonl_bom_on_a_later_line_is_bad(tmp_path: Path) -> None:
    p = write(tmp_path / "d.jsonl", b'{"a": 1}\n\xef\xbb\xbf{"a": 2}\n')
    records = list(iter_records(p))
    assert good(records) == [(1, {"a": 1})]
    assert [line for line, _ in bad(records)] == [2]


def test_jsonl_bad_line_is_reported_with_column(tmp_path: Path) -> None:
    p = write(tmp_path / "d.jsonl", b'{"a": 1}\n{"a": 2, oops}\n{"a": 3}\n')
    records = list(iter_records(p))
    assert good(records) == [(1, {"a": 1}), (3, {"a": 3})]
    ((line, error),) = bad(records)
    assert line == 2
    assert error.startswith("invalid JSON (")
    assert "column 10" in error


def test_jsonl_invalid_utf8_line(tmp_path: Path) -> None:
    p = write(tmp_path / "d.jsonl", b'{"a": 1}\n{"a": "caf\xe9"}\n{"a": "caf\xc3\xa9"}\n')
    records = list(iter_records(p))
    assert good(records) == [(1, {"a": 1}), (3, {"a": "café"})]
    ((line, error),) = bad(records)
    assert line == 2
    assert error.startswith("not valid UTF-8")
    assert "0xe9" in error
    assert "column 11" in error


@pytest.mark.parametrize(
    ("text", "kind"),
    [("[1, 2]", "a list"), ('"hi"', "a string"), ("42", "a number"), ("true", "a boolean"), ("null", "null")],
)
def test_jsonl_non_object_line(tmp_path: Path, text: str, kind: str) -> None:
    p = write(tmp_path / "d.jsonl", f'{{"a": 1}}\n{text}\n')
    records = list(iter_records(p))
    assert good(records) == [(1, {"a": 1})]
    assert bad(records) == [(2, f"expected a JSON object, got {kind}")]


def test_jsonl_gz_by_suffix_and_by_magic(tmp_path: Path) -> None:
    payload = lines({"a": 1}, {"b": 2})
    gz = write(tmp_path / "d.jsonl.gz", gzip.compress(payload))
    disguised = write(tmp_path / "d2.jsonl", gzip.compress(payload))  # gzipped, no .gz
    ndjson = write(tmp_path / "d3.ndjson.gz", gzip.compress(payload))
    for p in (gz, disguised, ndjson):
        assert detect_format(p) == "jsonl"
        assert good(list(iter_records(p))) == [(1, {"a": 1}), (2, {"b": 2})]


def test_jsonl_truncated_gzip_raises_input_error(tmp_path: Path) -> None:
    data = gzip.compress(lines(*({"i": i, "pad": "x" * 50} for i in range(2000))))
    p = write(tmp_path / "d.jsonl.gz", data[: len(data) // 2])
    with pytest.raises(InputError) as info:
        list(iter_records(p))
    assert info.value.where == str(p)


def test_jsonl_is_streamed(tmp_path: Path) -> None:
    p = write(tmp_path / "d.jsonl", lines(*({"i": i} for i in range(100))))
    it = iter_records(p)
    first = next(it)
    assert isinstance(first, Record)
    assert first.data == {"i": 0}
    assert sum(1 for _ in it) == 99


# --- JSON ------------------------------------------------------------------------------------------


def test_json_array_uses_element_index(tmp_path: Path) -> None:
    p = write(tmp_path / "d.json", json.dumps([{"a": 1}, {"a": 2}, 3, {"a": 4}], indent=2))
    records = list(iter_records(p))
    assert good(records) == [(1, {"a": 1}), (2, {"a": 2}), (4, {"a": 4})]
    assert bad(records) == [(3, "expected a JSON object, got a number")]


def test_json_object_wrapping_a_list(tmp_path: Path) -> None:
    p = write(tmp_path / "d.json", json.dumps({"data": [{"a": 1}, {"a": 2}]}))
    assert good(list(iter_records(p))) == [(1, {"a": 1}), (2, {"a": 2})]


def test_json_single_object_is_one_record(tmp_path: Path) -> None:
    p = write(tmp_path / "d.json", '{\n  "prompt": "hi",\n  "completion": "hello"\n}\n')
    assert good(list(iter_records(p))) == [(1, {"prompt": "hi", "completion": "hello"})]


def test_json_single_chat_example_is_not_unwrapped(tmp_path: Path) -> None:
    # {"messages": [...]} is one conversation, not a wrapped list of records.
    chat = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    p = write(tmp_path / "chat.json", json.dumps(chat, indent=1))
    assert good(list(iter_records(p))) == [(1, chat)]
    sharegpt = {"items": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]}
    p2 = write(tmp_path / "sg.json", json.dumps(sharegpt))
    assert good(list(iter_records(p2))) == [(1, sharegpt)]
    # The key alone is enough, whatever the turns look like.
    turns = {"conversations": [{"speaker": "A", "text": "hi"}, {"speaker": "B", "text": "yo"}]}
    p3 = write(tmp_path / "turns.json", json.dumps(turns))
    assert good(list(iter_records(p3))) == [(1, turns)]


def test_json_gz(tmp_path: Path) -> None:
    p = write(tmp_path / "d.json.gz", gzip.compress(json.dumps([{"a": 1}]).encode()))
    assert detect_format(p) == "json"
    assert good(list(iter_records(p))) == [(1, {"a": 1})]


def test_json_with_bom(tmp_path: Path) -> None:
    p = write(tmp_path / "d.json", b"\xef\xbb\xbf" + json.dumps([{"a": 1}]).encode())
    assert good(list(iter_records(p))) == [(1, {"a": 1})]


def test_jsonl_content_in_a_json_file_is_read_as_jsonl(tmp_path: Path) -> None:
    p = write(tmp_path / "d.json", b'{"a": 1}\n\n{"a": 2}\n{"a": bad}\n')
    records = list(iter_records(p))
    assert good(records) == [(1, {"a": 1}), (3, {"a": 2})]
    assert [line for line, _ in bad(records)] == [4]


def test_invalid_json_raises_with_position(tmp_path: Path) -> None:
    p = write(tmp_path / "d.json", '[\n  {"a": 1},\n  {"a": 2,, }\n]\n')
    with pytest.raises(InputError) as info:
        list(iter_records(p))
    err = info.value
    assert err.what.startswith("invalid JSON")
    assert err.where == f"{p}:3:11"
    assert err.fix == "fix the JSON or convert the file to JSONL"


def test_json_with_invalid_utf8_raises_with_position(tmp_path: Path) -> None:
    p = write(tmp_path / "d.json", b'[\n  {"a": "ok"},\n  {"a": "caf\xe9"}\n]\n')
    with pytest.raises(InputError) as info:
        list(iter_records(p))
    assert info.value.what == "not valid UTF-8"
    assert info.value.where == f"{p}:3:13"


def test_json_scalar_top_level_raises(tmp_path: Path) -> None:
    p = write(tmp_path / "d.json", '"just a string"')
    with pytest.raises(InputError, match="got a string"):
        list(iter_records(p))


# --- CSV -------------------------------------------------------------------------------------------


def test_csv_rows_and_line_numbers(tmp_path: Path) -> None:
    text = (
        "prompt,completion\n"  # line 1
        "hi,hello\n"  # line 2
        '"two\nlines","x"\n'  # lines 3-4
        "\n"  # line 5, blank
        'after,"[1, 2]"\n'  # line 6
    )
    p = write(tmp_path / "d.csv", text)
    records = list(iter_records(p))
    assert bad(records) == []
    assert good(records) == [
        (2, {"prompt": "hi", "completion": "hello"}),
        (3, {"prompt": "two\nlines", "completion": "x"}),
        (6, {"prompt": "after", "completion": "[1, 2]"}),  # JSON-looking cells stay strings
    ]


def test_csv_crlf_and_bom(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", b'\xef\xbb\xbfa,b\r\n1,2\r\n"x\r\ny",3\r\n4,5\r\n')
    records = list(iter_records(p))
    assert good(records) == [
        (2, {"a": "1", "b": "2"}),
        (3, {"a": "x\r\ny", "b": "3"}),
        (5, {"a": "4", "b": "5"}),
    ]


def test_csv_extra_fields_are_bad_and_short_rows_padded(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", "a,b\n1,2,3\n4\n5,6\n")
    records = list(iter_records(p))
    assert bad(records) == [(2, "3 fields, but the header has 2")]
    assert good(records) == [(3, {"a": "4", "b": None}), (4, {"a": "5", "b": "6"})]


def test_csv_blank_lines_before_header(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", "\n\na,b\n1,2\n")
    assert good(list(iter_records(p))) == [(4, {"a": "1", "b": "2"})]


def test_csv_large_field(tmp_path: Path) -> None:
    big = "x" * 300_000  # over the csv module's default 128 KiB field limit
    p = write(tmp_path / "d.csv", f"text\n{big}\n")
    assert good(list(iter_records(p))) == [(2, {"text": big})]


def test_csv_latin1_raises_clear_error(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", b"a,b\n1,2\nx,caf\xe9\n3,4\n")
    with pytest.raises(InputError) as info:
        list(iter_records(p))
    err = info.value
    assert err.what == "not valid UTF-8 near line 3"
    assert err.where == str(p)
    assert "iconv" in (err.fix or "")


# --- Parquet, Arrow, Hugging Face --------------------------------------------------------------------


def test_parquet_row_indexes_across_batches(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"i": i, "text": f"t{i}"} for i in range(25)]
    p = tmp_path / "d.parquet"
    pq.write_table(pa.Table.from_pylist(rows), p, row_group_size=10)
    assert detect_format(p) == "parquet"
    assert detect_format(p) not in LINE_FORMATS
    records = list(iter_records(p, batch_size=4))
    assert good(records) == [(i, row) for i, row in enumerate(rows)]


def test_parquet_batches_are_bounded_by_batch_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = tmp_path / "d.parquet"
    pq.write_table(pa.Table.from_pylist([{"i": i} for i in range(25)]), p)
    sizes: list[int] = []
    real = pq.ParquetFile.iter_batches

    def spy(self, *args, **kwargs):
        for batch in real(self, *args, **kwargs):
            sizes.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    assert len(list(iter_records(p, batch_size=7))) == 25
    assert sizes == [7, 7, 7, 4]


def test_corrupt_parquet_raises_input_error(tmp_path: Path) -> None:
    p = write(tmp_path / "d.parquet", b"not parquet at all")
    with pytest.raises(InputError, match="Parquet"):
        list(iter_records(p))


def test_arrow_ipc_stream_and_file(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    table = pa.Table.from_pylist([{"i": i} for i in range(10)])
    stream = tmp_path / "stream.arrow"
    with pa.OSFile(str(stream), "wb") as sink, ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=6)
    filefmt = tmp_path / "file.arrow"
    with pa.OSFile(str(filefmt), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=6)
    for p in (stream, filefmt):
        assert detect_format(p) == "arrow"
        records = list(iter_records(p, batch_size=4))
        assert good(records) == [(i, {"i": i}) for i in range(10)]


def test_arrow_garbage_raises_input_error(tmp_path: Path) -> None:
    p = write(tmp_path / "d.arrow", b"\x00" * 64)
    with pytest.raises(InputError, match="Arrow"):
        list(iter_records(p))


def test_hf_dataset_folder(tmp_path: Path) -> None:
    import datasets

    rows = [{"prompt": f"p{i}", "completion": f"c{i}"} for i in range(7)]
    folder = tmp_path / "ds"
    datasets.Dataset.from_list(rows).save_to_disk(str(folder))
    assert detect_format(folder) == "hf-disk"
    records = list(iter_records(folder, batch_size=3))
    assert good(records) == [(i, row) for i, row in enumerate(rows)]
    assert {(r.path, r.split) for r in records} == {(str(folder), None)}


def test_hf_dataset_dict_folder_keeps_split_order(tmp_path: Path) -> None:
    import datasets

    dd = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_list([{"t": "a"}, {"t": "b"}, {"t": "c"}]),
            "test": datasets.Dataset.from_list([{"t": "d"}]),
            "extra": datasets.Dataset.from_list([{"t": "e"}, {"t": "f"}]),
        }
    )
    folder = tmp_path / "dd"
    dd.save_to_disk(str(folder))
    assert detect_format(folder) == "hf-disk"
    got = [(r.split, r.line, r.data["t"]) for r in iter_records(folder) if isinstance(r, Record)]
    assert got == [
        ("train", 0, "a"),
        ("train", 1, "b"),
        ("train", 2, "c"),
        ("test", 0, "d"),
        ("extra", 0, "e"),
        ("extra", 1, "f"),
    ]


# --- Dispatch and errors -----------------------------------------------------------------------------


def test_detect_format_by_extension(tmp_path: Path) -> None:
    expected = {
        "a.jsonl": "jsonl",
        "b.NDJSON": "jsonl",
        "c.json": "json",
        "d.csv": "csv",
        "e.parquet": "parquet",
        "f.arrow": "arrow",
    }
    for name, fmt in expected.items():
        assert detect_format(write(tmp_path / name, b"")) == fmt
    assert {"jsonl", "json", "csv"} == LINE_FORMATS


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        iter_records(tmp_path / "nope.jsonl")  # raised at the call, not on first next()
    assert info.value.what == "no such file"
    assert info.value.where == str(tmp_path / "nope.jsonl")


def test_unknown_extension(tmp_path: Path) -> None:
    p = write(tmp_path / "d.txt", lines({"a": 1}))
    with pytest.raises(InputError) as info:
        iter_records(p)
    assert info.value.what == "unknown file format"
    assert "--input-format" in (info.value.fix or "")


def test_format_forces_the_reader(tmp_path: Path) -> None:
    p = write(tmp_path / "d.txt", lines({"a": 1}, {"a": 2}))
    assert good(list(iter_records(p, format="jsonl"))) == [(1, {"a": 1}), (2, {"a": 2})]
    with pytest.raises(UsageError):
        iter_records(p, format="yaml")
    with pytest.raises(InputError, match="not a Hugging Face dataset folder"):
        iter_records(p, format="hf-disk")
    with pytest.raises(InputError, match="a directory"):
        iter_records(tmp_path, format="jsonl")


def test_plain_directory_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "dir" / "a.jsonl", lines({"a": 1}))
    with pytest.raises(InputError) as info:
        iter_records(tmp_path / "dir")
    assert "glob" in (info.value.fix or "")


# --- expand_paths ----------------------------------------------------------------------------------


def test_expand_paths_directory_recursive_and_sorted(tmp_path: Path) -> None:
    import datasets

    root = tmp_path / "data"
    write(root / "b.jsonl", b"")
    write(root / "a.csv", b"")
    write(root / "notes.txt", b"")
    write(root / "sub" / "c.parquet", b"")
    write(root / ".hidden" / "x.jsonl", b"")
    # Hugging Face metadata beside the data (one JSON object) is not data, in any folder (with
    # dataset_dict.json the folder is a saved DatasetDict, taken whole).
    # (dataset_info.json and state.json together make a save_to_disk folder: not side by side here).
    for name in ("config.json", "dataset_info.json", "dataset_infos.json"):
        write(root / "sub" / name, b'{"description": "", "features": {}}')
    write(root / "sub" / "more" / "state.json", b'{"_data_files": [], "_fingerprint": "x"}')
    write(root / "sub" / "d.json", b"[]")
    # With such a name, rows are still rows: JSON lines, an array, a {"data": [...]} wrapper.
    write(root / "rows" / "config.json", b'{"text": "a"}\n{"text": "b"}\n')
    write(root / "rows" / "dataset_infos.json", b'[{"text": "a"}]')
    write(root / "rows" / "state.json", b'{"data": [{"text": "a"}]}')
    datasets.Dataset.from_list([{"a": 1}]).save_to_disk(str(root / "hf"))
    got = expand_paths([str(root)])
    rows = [root / "rows" / name for name in ("config.json", "dataset_infos.json", "state.json")]
    assert got == [root / "a.csv", root / "b.jsonl", root / "hf", *rows, root / "sub" / "c.parquet",
                   root / "sub" / "d.json"]
    # Named, or matched by a pattern, a file is read whatever its name.
    assert expand_paths([str(root / "sub" / "config.json")]) == [root / "sub" / "config.json"]
    assert root / "sub" / "dataset_info.json" in expand_paths([f"{root}/sub/*.json"])


def test_expand_paths_glob_and_files(tmp_path: Path) -> None:
    write(tmp_path / "data" / "x" / "one.jsonl", b"")
    write(tmp_path / "data" / "two.jsonl", b"")
    write(tmp_path / "data" / "three.csv", b"")
    write(tmp_path / "data" / "x" / "four.txt", b"")
    explicit = write(tmp_path / "README.txt", b"")
    got = expand_paths([f"{tmp_path}/data/**/*.jsonl", str(explicit), f"{tmp_path}/data/two.jsonl"])
    assert got == [
        tmp_path / "data" / "two.jsonl",
        tmp_path / "data" / "x" / "one.jsonl",
        explicit,  # a file named explicitly is kept whatever its extension; duplicates dropped
    ]
    # A glob keeps what it matches, as the shell would (e.g. for use with --input-format).
    assert expand_paths([f"{tmp_path}/data/**/*.txt"]) == [tmp_path / "data" / "x" / "four.txt"]
    # A glob matching a directory searches it.
    assert expand_paths([f"{tmp_path}/dat?"]) == [
        tmp_path / "data" / "three.csv",
        tmp_path / "data" / "two.jsonl",
        tmp_path / "data" / "x" / "one.jsonl",
    ]


def test_expand_paths_missing(tmp_path: Path) -> None:
    for arg in (str(tmp_path / "missing.jsonl"), f"{tmp_path}/nothing/**/*.jsonl"):
        with pytest.raises(InputError) as info:
            expand_paths([arg])
        assert info.value.what == "no such file or directory"
        assert info.value.where == arg
        assert info.value.fix == "check the path or the glob pattern"


def test_expand_paths_directory_without_datasets(tmp_path: Path) -> None:
    write(tmp_path / "empty" / "notes.txt", b"")
    with pytest.raises(InputError, match="no dataset files"):
        expand_paths([str(tmp_path / "empty")])


# --- file_sha256 -----------------------------------------------------------------------------------


def test_file_sha256_matches_hashlib(tmp_path: Path) -> None:
    data = bytes(range(256)) * 9000  # over 1 MiB: more than one chunk
    p = write(tmp_path / "d.bin", data)
    assert file_sha256(p) == hashlib.sha256(data).hexdigest()


def test_folder_hash_is_stable_and_changes_with_content(tmp_path: Path) -> None:
    def make(root: Path) -> Path:
        write(root / "state.json", b"{}")
        write(root / "dataset_info.json", b"{}")
        write(root / "data-00000-of-00001.arrow", b"abc")
        write(root / "sub" / "x", b"1")
        return root

    a = make(tmp_path / "a")
    b = make(tmp_path / "b")
    h = file_sha256(a)
    assert len(h) == 64
    assert file_sha256(a) == h
    assert file_sha256(b) == h  # independent of where the folder lies
    write(b / ".DS_Store", b"junk")
    assert file_sha256(b) == h  # hidden files are ignored
    write(b / "data-00000-of-00001.arrow", b"abd")
    assert file_sha256(b) != h
    write(b / "data-00000-of-00001.arrow", b"abc")
    assert file_sha256(b) == h
    (b / "sub" / "x").rename(b / "sub" / "y")
    assert file_sha256(b) != h


def test_file_sha256_missing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        file_sha256(tmp_path / "nope")


def test_jsonl_bounds_cut_at_line_starts_and_taper_at_the_end(tmp_path: Path) -> None:
    from itertools import pairwise

    from lineage.readers import jsonl_bounds

    path = tmp_path / "big.jsonl"
    lines = [b'{"n": %d, "text": "%s"}\n' % (n, b"x" * (n % 50)) for n in range(200_000)]
    path.write_bytes(b"".join(lines))
    data = path.read_bytes()
    starts = {0, *(i + 1 for i, byte in enumerate(data) if byte == 0x0A)}
    even = jsonl_bounds(path, 8, min_size=1 << 16)
    tapered = jsonl_bounds(path, 8, min_size=1 << 16, taper=2)
    for bounds in (even, tapered):
        assert bounds[0] == 0 and bounds[-1] == len(data)
        assert set(bounds) <= starts
    sizes = [b - a for a, b in pairwise(even)]
    assert len(even) == 9 and max(sizes) - min(sizes) < 1000  # a few lines
    shrinking = [b - a for a, b in pairwise(tapered)]
    # As many whole ranges first, then each at most a quarter of what is left, to the floor.
    assert max(shrinking) <= max(sizes) + 100
    assert shrinking[-2] < sizes[0] // 8
    left = len(data)
    for size in shrinking[:-1]:
        assert size <= max(left // 4, 1 << 16) + 100
        left -= size
