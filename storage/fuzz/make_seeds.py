#!/usr/bin/env python3
"""Writes valid seed inputs (records, index files, a segment) for the fuzz targets into
seeds/<target>/. The formats are documented in storage/src/partition/{record,index,
time_index}.rs; this mirrors them independently (its own crc32c), so a seed that the
parsers reject is itself a finding."""
import os
import struct

def _table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table

TABLE = _table()

def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF

MAGIC = struct.unpack("<I", b"VRLG")[0]

def record(op, base, count, ts, position, payload):
    body = struct.pack("<IIQQQQQQ", len(payload), count, op, base, ts, ts + 5, position, 0)
    checksum = crc32c(payload, crc32c(body))
    return struct.pack("<II", MAGIC, checksum) + body + payload

def index_entry(domain, slot, body):
    return body + struct.pack("<I", crc32c(body, crc32c(struct.pack("<Q", slot), domain)))

here = os.path.dirname(os.path.abspath(__file__))
def write(target, name, data):
    with open(os.path.join(here, "seeds", target, name), "wb") as f:
        f.write(data)

segment, index, times, position, offset = b"", b"", b"", 0, 0
for i in range(6):
    payload = bytes((j * 7 + i) % 256 for j in range(40 + 90 * i))
    r = record(i + 1, offset, i + 1, 100 * i, position, payload)
    write("record_parser", f"record{i}", r)
    index += index_entry(0x1DE00FF5, i, struct.pack("<III", offset, position, len(r)))
    times += index_entry(0x71AE1DE0, i, struct.pack("<QI", 100 * i + 5, offset))
    segment += r
    position += len(r)
    offset += i + 1
write("index_parser", "offset_index", index)
write("index_parser", "time_index", times)
write("segment_recovery", "raw_segment", b"\x00" + segment)
write("segment_recovery", "structured", b"\x01\x10" + bytes(range(40)))
