"""A minimal, dependency-free Parquet writer (pure Python + struct), for the torch hook's shards.

    from parquet_min import write_parquet
    write_parquet("out.parquet", [("layer", "INT32"), ("mass", "DOUBLE"), ("branch", "UTF8")],
                  {"layer": [0, 1], "mass": [0.25, 0.75], "branch": ["cond", "uncond"]})

Supported: REQUIRED (non-null) flat columns of INT32 (DuckDB: INTEGER), DOUBLE (DOUBLE) and BYTE_ARRAY with
the UTF8 converted type / STRING logical type (VARCHAR); PLAIN encoding, UNCOMPRESSED, one row group per
file, data pages of at most `page_rows` values. Optionally (dictionary=True) UTF8 columns are dictionary
encoded (a PLAIN dictionary page + RLE_DICTIONARY data pages of RLE runs), which shrinks the heavily
repeated string columns of the stats shards several-fold; numbers stay PLAIN. Metadata (PageHeader, FileMetaData) is Thrift compact
protocol, written by hand below. The file is written to `<path>.<pid>.tmp` and renamed with os.replace, so
a reader never sees a half-written file. If pyarrow is importable, `write_parquet(..., use_pyarrow=True)`
uses it instead (same schema); the default is this writer, which is what the tests exercise.

Format reference: https://github.com/apache/parquet-format (parquet.thrift) and the Thrift compact protocol
spec (https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md).
"""
import os
import struct

MAGIC = b"PAR1"

# parquet.thrift enums
T_INT32, T_DOUBLE, T_BYTE_ARRAY = 1, 5, 6
REQUIRED = 0
CONVERTED_UTF8 = 0
ENC_PLAIN, ENC_RLE, ENC_RLE_DICTIONARY = 0, 3, 8
CODEC_UNCOMPRESSED = 0
PAGE_DATA, PAGE_DICTIONARY = 0, 2

# Thrift compact protocol wire types
CT_I32, CT_I64, CT_BINARY, CT_LIST, CT_STRUCT = 5, 6, 8, 9, 12

TYPES = {"INT32": T_INT32, "DOUBLE": T_DOUBLE, "UTF8": T_BYTE_ARRAY, "STRING": T_BYTE_ARRAY, "VARCHAR": T_BYTE_ARRAY,
         "INTEGER": T_INT32}


# ------------------------------------------------------------------------------------ Thrift compact
def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _zigzag(n, bits):
    return (n << 1) ^ (n >> (bits - 1))


class _Struct:
    """A Thrift struct as an ordered list of (field id, compact type, value); value types:
    CT_I32/CT_I64 int, CT_BINARY bytes/str, CT_STRUCT _Struct, CT_LIST (elem type, [values])."""

    def __init__(self, *fields):
        self.fields = [f for f in fields if f[2] is not None]

    def encode(self):
        out = bytearray()
        last = 0
        for fid, ctype, value in sorted(self.fields, key=lambda f: f[0]):
            delta = fid - last
            if 0 < delta <= 15:
                out.append((delta << 4) | ctype)
            else:
                out.append(ctype)
                out += _varint(_zigzag(fid, 16))
            last = fid
            out += _value(ctype, value)
        out.append(0)  # STOP
        return bytes(out)


def _value(ctype, v):
    if ctype == CT_I32:
        return _varint(_zigzag(int(v), 32) & 0xFFFFFFFF)
    if ctype == CT_I64:
        return _varint(_zigzag(int(v), 64) & 0xFFFFFFFFFFFFFFFF)
    if ctype == CT_BINARY:
        b = v.encode("utf-8") if isinstance(v, str) else bytes(v)
        return _varint(len(b)) + b
    if ctype == CT_STRUCT:
        return v.encode()
    if ctype == CT_LIST:
        et, items = v
        head = bytes([(len(items) << 4) | et]) if len(items) < 15 else bytes([0xF0 | et]) + _varint(len(items))
        return head + b"".join(_value(et, x) for x in items)
    raise ValueError(f"unsupported thrift type {ctype}")


# ------------------------------------------------------------------------------------------- values
def _plain(ptype, values):
    """PLAIN encoding of REQUIRED values (no definition/repetition levels: max levels are 0)."""
    if hasattr(values, "dtype"):  # numpy array: fast path, no per-element Python
        if ptype == T_INT32:
            return values.astype("<i4").tobytes()
        if ptype == T_DOUBLE:
            return values.astype("<f8").tobytes()
        values = values.tolist()
    values = list(values)
    if ptype == T_INT32:
        for v in values:
            if v is None:
                raise ValueError("REQUIRED column has a None value")
        return struct.pack(f"<{len(values)}i", *(int(v) for v in values))
    if ptype == T_DOUBLE:
        return struct.pack(f"<{len(values)}d", *(float(v) for v in values))
    cache = {}
    parts = []
    for v in values:
        if v is None:
            raise ValueError("REQUIRED column has a None value")
        enc = cache.get(v)
        if enc is None:
            b = v.encode("utf-8") if isinstance(v, str) else bytes(v)
            enc = cache[v] = struct.pack("<I", len(b)) + b
        parts.append(enc)
    return b"".join(parts)


def _page_header(kind, body_len, sub):
    return _Struct(
        (1, CT_I32, kind),
        (2, CT_I32, body_len),  # uncompressed_page_size
        (3, CT_I32, body_len),  # compressed_page_size (UNCOMPRESSED: the same)
        (5 if kind == PAGE_DATA else 7, CT_STRUCT, sub),  # DataPageHeader | DictionaryPageHeader
    ).encode()


def _data_page(body, num_values, encoding):
    return _page_header(PAGE_DATA, len(body), _Struct(
        (1, CT_I32, num_values),
        (2, CT_I32, encoding),
        (3, CT_I32, ENC_RLE),  # definition_level_encoding (no levels are written: REQUIRED, flat)
        (4, CT_I32, ENC_RLE),  # repetition_level_encoding
    )) + body


def _page(ptype, values):
    return _data_page(_plain(ptype, values), len(values), ENC_PLAIN)


def _rle_indices(indices, bit_width):
    """RLE/bit-packed hybrid with RLE runs only (fine for the long runs of repeated strings): per run
    varint(run_length << 1) then the value in ceil(bit_width / 8) little-endian bytes; prefixed by the
    bit width byte, as a RLE_DICTIONARY data page wants."""
    nbytes = (bit_width + 7) // 8
    out = bytearray([bit_width])
    i, n = 0, len(indices)
    while i < n:
        v = indices[i]
        j = i + 1
        while j < n and indices[j] == v:
            j += 1
        out += _varint((j - i) << 1)
        out += int(v).to_bytes(nbytes, "little")
        i = j
    return bytes(out)


def _dictionary_chunk(values, page_rows):
    """(dictionary page, [data pages]) of a UTF8 column: distinct values PLAIN in a dictionary page, rows as
    RLE_DICTIONARY indices."""
    values = values.tolist() if hasattr(values, "tolist") else list(values)
    index, dictionary, idx = {}, [], []
    for v in values:
        k = index.get(v)
        if k is None:
            k = index[v] = len(dictionary)
            dictionary.append(v)
        idx.append(k)
    body = _plain(T_BYTE_ARRAY, dictionary)
    dict_page = _page_header(PAGE_DICTIONARY, len(body), _Struct(
        (1, CT_I32, len(dictionary)), (2, CT_I32, ENC_PLAIN))) + body
    bw = max(1, (len(dictionary) - 1).bit_length())
    pages = [_data_page(_rle_indices(idx[i:i + page_rows], bw), len(idx[i:i + page_rows]), ENC_RLE_DICTIONARY)
             for i in range(0, len(idx), page_rows)]
    return dict_page, pages


def _normalise_columns(columns):
    out = []
    for name, kind in columns:
        k = kind.upper()
        if k not in TYPES:
            raise ValueError(f"column {name!r}: type {kind!r} not supported (INT32, DOUBLE, UTF8)")
        out.append((name, TYPES[k]))
    return out


def write_parquet(path, columns, data, page_rows=1 << 16, key_value=None, use_pyarrow=False, dictionary=False):
    """Write `data` ({name: sequence or numpy array}) with `columns` [(name, "INT32"|"DOUBLE"|"UTF8")]
    (that order) to `path` atomically. Returns the number of rows. dictionary=True stores UTF8 columns as a
    dictionary page + RLE_DICTIONARY indices (much smaller for repeated strings); default all PLAIN."""
    cols = _normalise_columns(columns)
    n = None
    for name, _ in cols:
        if name not in data:
            raise ValueError(f"column {name!r} has no data")
        ln = len(data[name])
        if n is None:
            n = ln
        elif ln != n:
            raise ValueError(f"column {name!r} has {ln} values, expected {n}")
    n = n or 0
    if n == 0:
        raise ValueError("no rows (a Parquet shard needs at least one row)")
    tmp = f"{path}.{os.getpid()}.tmp"
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    if use_pyarrow:
        _write_pyarrow(tmp, cols, data, key_value)
        os.replace(tmp, path)
        return n
    chunks, sizes = [], []
    with open(tmp, "wb") as f:
        f.write(MAGIC)
        offset = len(MAGIC)
        for name, ptype in cols:
            vals = data[name]
            start = offset
            dict_offset = None
            if dictionary and ptype == T_BYTE_ARRAY:
                dict_page, pages = _dictionary_chunk(vals, page_rows)
                f.write(dict_page)
                dict_offset, offset = offset, offset + len(dict_page)
                encodings = [ENC_PLAIN, ENC_RLE, ENC_RLE_DICTIONARY]
            else:
                pages = (_page(ptype, vals[i:i + page_rows]) for i in range(0, n, page_rows))
                encodings = [ENC_PLAIN, ENC_RLE]
            data_offset = offset
            for page in pages:
                f.write(page)
                offset += len(page)
            size = offset - start
            sizes.append(size)
            meta = _Struct(
                (1, CT_I32, ptype),
                (2, CT_LIST, (CT_I32, encodings)),
                (3, CT_LIST, (CT_BINARY, [name])),
                (4, CT_I32, CODEC_UNCOMPRESSED),
                (5, CT_I64, n),
                (6, CT_I64, size),  # total_uncompressed_size (headers included)
                (7, CT_I64, size),  # total_compressed_size
                (9, CT_I64, data_offset),  # data_page_offset
                (11, CT_I64, dict_offset),  # dictionary_page_offset (None: not written)
            )
            chunks.append(_Struct((2, CT_I64, start), (3, CT_STRUCT, meta)))
        schema = [_Struct((4, CT_BINARY, "schema"), (5, CT_I32, len(cols)))]
        for name, ptype in cols:
            utf8 = ptype == T_BYTE_ARRAY
            schema.append(_Struct(
                (1, CT_I32, ptype),
                (3, CT_I32, REQUIRED),
                (4, CT_BINARY, name),
                (6, CT_I32, CONVERTED_UTF8 if utf8 else None),
                (10, CT_STRUCT, _Struct((1, CT_STRUCT, _Struct())) if utf8 else None),  # LogicalType STRING
            ))
        row_group = _Struct((1, CT_LIST, (CT_STRUCT, chunks)), (2, CT_I64, sum(sizes)), (3, CT_I64, n))
        kv = [_Struct((1, CT_BINARY, k), (2, CT_BINARY, v)) for k, v in (key_value or {}).items()]
        footer = _Struct(
            (1, CT_I32, 1),  # version
            (2, CT_LIST, (CT_STRUCT, schema)),
            (3, CT_I64, n),
            (4, CT_LIST, (CT_STRUCT, [row_group])),
            (5, CT_LIST, (CT_STRUCT, kv) if kv else None),
            (6, CT_BINARY, "heatkv tools/parquet_min.py"),
        ).encode()
        f.write(footer)
        f.write(struct.pack("<I", len(footer)))
        f.write(MAGIC)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return n


def _write_pyarrow(tmp, cols, data, key_value):
    import pyarrow as pa
    import pyarrow.parquet as pq
    types = {T_INT32: pa.int32(), T_DOUBLE: pa.float64(), T_BYTE_ARRAY: pa.string()}
    schema = pa.schema([pa.field(nm, types[t], nullable=False) for nm, t in cols], metadata=key_value or None)
    table = pa.table({nm: pa.array(list(data[nm]) if not hasattr(data[nm], "dtype") else data[nm], type=types[t])
                      for nm, t in cols}, schema=schema)
    pq.write_table(table, tmp, compression="NONE", row_group_size=max(1, table.num_rows))


def pyarrow_available():
    try:
        import pyarrow.parquet  # noqa: F401
        return True
    except ImportError:
        return False


if __name__ == "__main__":  # tiny self-test file for tests/tools: python3 parquet_min.py out.parquet
    import sys
    out = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    page_rows = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 16
    dictionary = len(sys.argv) > 4 and sys.argv[4] == "dict"
    ints = [(i * 7919) % 1000 - 500 for i in range(rows)]
    ints[0] = -2 ** 31
    if rows > 1:
        ints[1] = 2 ** 31 - 1
    dbl = [i / 3 - 1e-300 * i for i in range(rows)]
    if rows > 2:
        dbl[2] = 1e308
    strs = [["cond", "uncond", "", "Smileys & Emotion", "ünïcödé ✓ 🙂", "it's"][i % 6] for i in range(rows)]
    write_parquet(out, [("i", "INT32"), ("d", "DOUBLE"), ("s", "UTF8")], {"i": ints, "d": dbl, "s": strs},
                  page_rows=page_rows, key_value={"heatkv.test": "1"}, dictionary=dictionary)
    import json
    print(json.dumps({"i": ints, "d": [repr(x) for x in dbl], "s": strs}))
