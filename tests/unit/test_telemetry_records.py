"""Spool records and line protocol of validated uploads (pure)."""
import numpy as np

from telemetry.payloads import BurstUpload, FaultReport, OperatingBatch
from telemetry.records import blocks_by_rp, from_record, lines_by_rp, record_event, records_blocks, to_record
from telemetry.schema import RP_LIFE, RP_RAW


def test_operating_record_is_columnar_and_keeps_sparse_fields():
    batch = OperatingBatch.from_samples("u1", "GS-1", ((10, {"power_kw": 1.5, "lat": 53.8}), (20, {"power_kw": 2.0})))
    header, body = to_record(batch)
    assert header["fields"] == ["lat", "power_kw"] and header["rows"] == 2
    assert len(body) == 2 * 8 + 2 * 2 * 8  # int64 times, then the float64 matrix
    assert from_record(header, body) == batch
    assert lines_by_rp(batch) == {RP_LIFE: ["operating,machine=GS-1 lat=53.8,power_kw=1.5 10\n",
                                            "operating,machine=GS-1 power_kw=2.0 20\n"]}


def test_operating_record_of_the_earlier_layout_is_still_read():
    # spooled before an upgrade (times in the header, body only the matrix): never lost
    header = {"kind": "operating", "upload_id": "u0", "machine": "GS-1", "fields": ["lat", "power_kw"],
              "times": [10, 20]}
    body = np.array([[53.8, 1.5], [np.nan, 2.0]]).astype("<f8").tobytes()
    expected = OperatingBatch.from_samples("u0", "GS-1", ((10, {"power_kw": 1.5, "lat": 53.8}), (20, {"power_kw": 2.0})))
    assert from_record(header, body) == expected
    assert records_blocks([(header, body)]) == blocks_by_rp(expected)


def test_operating_records_of_one_machine_are_encoded_as_one_block():
    a = OperatingBatch.from_samples("a", "GS-1", ((10, {"power_kw": 1.5, "lat": 53.8}),))
    b = OperatingBatch.from_samples("b", "GS-1", ((20, {"power_kw": 2.5, "lat": 53.9}),))
    other = OperatingBatch.from_samples("c", "GS-2", ((30, {"power_kw": 3.5, "lat": 54.0}),))
    blocks = records_blocks([to_record(a), to_record(b), to_record(other)])[RP_LIFE]
    assert blocks == [(b"operating,machine=GS-1 lat=538e-01,power_kw=15e-01 10\n"
                       b"operating,machine=GS-1 lat=539e-01,power_kw=25e-01 20\n", 2),
                      (b"operating,machine=GS-2 lat=54e-00,power_kw=35e-01 30\n", 1)]


def test_burst_record_round_trip_and_lines():
    samples = np.array([0.5, -1.25, 3.0e-3], dtype=np.float32)
    burst = BurstUpload("u2", "EX-1", "engine", "engine.acc", "radial", 25600.0, 1000, "g", 1800.0, "int16le", 0.001, samples)
    header, body = to_record(burst)
    back = from_record(header, body)
    assert back == burst and np.array_equal(back.samples, samples)
    lines = lines_by_rp(burst)
    assert lines[RP_RAW][1] == "vibration,axis=radial,component=engine,machine=EX-1,sensor=engine.acc a=-125000000e-08 40062\n"
    assert lines[RP_LIFE][0].startswith("bursts,axis=radial,component=engine,machine=EX-1,sensor=engine.acc burst_id=")
    assert 'units="g"' in lines[RP_LIFE][0] and "scale=0.001" in lines[RP_LIFE][0] and "n_samples=3i" in lines[RP_LIFE][0]
    event = record_event(header, body)
    assert (event.kind, event.burst_id) == ("burst", "EX-1:engine.acc:radial:1000")


def test_faults_record_round_trip():
    report = FaultReport("u3", "EX-1", 5, {"mil": 1, "red_stop": 0, "amber_warning": 0, "protect": 0},
                         ({"spn": 100, "fmi": 1, "occurrence_count": 2},))
    assert from_record(*to_record(report)) == report
    faults_line, code_line = lines_by_rp(report)[RP_LIFE]
    assert 'codes="100:1:2"' in faults_line and "active_count=1i" in faults_line
    assert code_line == 'fault_codes,machine=EX-1,spn=100 fmi=1i,occurrence_count=2i,upload_id="u3" 5\n'


def _blocks(counts):
    """Blocks of numbered lines ``L<k>``: ``counts`` lines each, numbered across blocks."""
    blocks, k = [], 0
    for count in counts:
        blocks.append(("".join(f"L{k + i}\n" for i in range(count)).encode(), count))
        k += count
    return blocks, k


def test_chunk_blocks_keeps_every_line_in_order_in_even_chunks():
    from telemetry.records import chunk_blocks

    for counts, max_lines in [([25_601, 60, 1, 25_601, 2], 10_000), ([3, 0, 4], 10), ([7], 7), ([5, 5], 3)]:
        blocks, total = _blocks(counts)
        chunks = list(chunk_blocks(blocks, max_lines))
        text = b"".join(body for body, _ in chunks).decode()
        assert text.splitlines() == [f"L{k}" for k in range(total)]
        assert all(body.count(b"\n") == count <= max_lines for body, count in chunks)
        assert len(chunks) == -(-total // max_lines)
        sizes = [count for _, count in chunks]  # all but the last of one size, the last not larger
        assert len(set(sizes[:-1])) <= 1 and sizes[-1] <= sizes[0]


def test_chunk_blocks_splits_fixed_width_and_uneven_blocks_at_their_newlines():
    from telemetry.records import chunk_blocks

    fixed = (b"".join(b"F%05d\n" % k for k in range(1000)), 1000)  # one width: offsets computed
    uneven = (b"a\nbb\nccc\n" * 300, 900)  # total a multiple of the line count, widths differ
    for blocks in ([fixed], [uneven], [fixed, uneven, fixed]):
        expected = b"".join(body for body, _ in blocks).splitlines()
        chunks = list(chunk_blocks(blocks, 333))
        assert b"".join(body for body, _ in chunks).splitlines() == expected
        assert all(body.count(b"\n") == count <= 333 and body.endswith(b"\n") for body, count in chunks)


def test_blocks_and_lines_agree_for_a_burst():
    from telemetry.records import blocks_by_rp

    samples = np.array([0.5, -1.25, 3.0e-3, 0.0, 1e-45], dtype=np.float32)
    burst = BurstUpload("u2", "EX-1", "engine", "engine.acc", "radial", 25600.0, 1000, "g", 1800.0, "float32le", None, samples)
    blocks = blocks_by_rp(burst)
    (raw_body, raw_count), = blocks[RP_RAW]
    assert raw_count == 5 and raw_body.decode().splitlines(keepends=True) == lines_by_rp(burst)[RP_RAW]
    values = [float(line.split(" ")[1][2:]) for line in raw_body.decode().splitlines()]
    assert np.array_equal(np.array(values, dtype=np.float32).view(np.uint32), samples.view(np.uint32))


def test_dense_operating_block_matches_the_per_sample_lines():
    from telemetry.records import records_blocks
    from telemetry.operating_lines import operating_lines

    samples = tuple((10 + i, {"power_kw": 1.5 + i / 3, "lat": 53.8, "hour_meter_h": 12.0 + i}) for i in range(5))
    batch = OperatingBatch.from_samples("u1", "GS%1", samples)
    (body, count), = records_blocks([to_record(batch)])[RP_LIFE]
    sorted_samples = [(t, dict(sorted(fields.items()))) for t, fields in samples]
    assert count == 5 and body.decode() == "".join(operating_lines("GS%1", sorted_samples))


def test_vibration_block_with_percent_in_a_tag():
    from telemetry.schema import encode_vibration_block

    one = np.array([1.5], dtype=np.float32)
    assert encode_vibration_block({"machine": "EX%d"}, one, 7, 25600.0) == (b"vibration,machine=EX%d a=1500000000e-09 7\n", 1)
    modern = 1764064800000000000  # 19-digit timestamps: the fixed-width byte-matrix path
    assert encode_vibration_block({"machine": "EX%d"}, one, modern, 25600.0) == (
        f"vibration,machine=EX%d a=1500000000e-09 {modern}\n".encode(), 1)


def test_operating_values_written_as_exact_decimals():
    from telemetry.records import records_blocks

    values = [{"power_kw": 1.5 + i, "lat": 53.801234, "coolant_temp_c": -12.25, "hour_meter_h": 100.0}
              for i in range(3)]
    batch = OperatingBatch.from_samples("u7", "GS-1", tuple((10 + i, fields) for i, fields in enumerate(values)))
    (body, count), = records_blocks([to_record(batch)])[RP_LIFE]
    first = body.decode().splitlines()[0]
    assert first == ("operating,machine=GS-1 coolant_temp_c=-1225e-02,hour_meter_h=100e-00,lat=53801234e-06,"
                     "power_kw=15e-01 10")
    for line, fields in zip(body.decode().splitlines(), values):
        parsed = dict(pair.split("=") for pair in line.split(" ")[1].split(","))
        assert {name: float(text) for name, text in parsed.items()} == fields

    # a value that needs more than 6 decimals (or -0.0) keeps the shortest repr
    odd = OperatingBatch.from_samples("u8", "GS-1", ((1, {"lat": 0.1 + 0.2, "lon": -0.0}),))
    (body, _), = records_blocks([to_record(odd)])[RP_LIFE]
    assert body == b"operating,machine=GS-1 lat=0.30000000000000004,lon=-0.0 1\n"
