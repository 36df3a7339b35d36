"""Per-record helpers of pair operations, and output codec names.

They run on every record of pair-RDD pipelines, so each is one plain
generator (a generator over another generator costs a second frame resume
per record); a record that is not a (key, value) pair fails with its value
named.
"""

__all__ = ["not_a_pair", "pairs", "keys_of", "values_of", "codec"]


def not_a_pair(record):
    return TypeError(
        f"expected (key, value) pairs for a pair operation, got {record!r:.200} "
        f"(a {type(record).__name__})")


def pairs(iterator):
    """Yield (key, value) from ``iterator``, naming the first record that is not a pair."""
    for record in iterator:
        try:
            k, v = record
        except (TypeError, ValueError):
            raise not_a_pair(record) from None
        yield k, v


def keys_of(_, iterator):
    for record in iterator:
        try:
            k, _v = record
        except (TypeError, ValueError):
            raise not_a_pair(record) from None
        yield k


def values_of(_, iterator):
    for record in iterator:
        try:
            _k, v = record
        except (TypeError, ValueError):
            raise not_a_pair(record) from None
        yield v


_CODECS = {
    "org.apache.hadoop.io.compress.GzipCodec": "gzip",
    "org.apache.hadoop.io.compress.DefaultCodec": "gzip",
    "org.apache.hadoop.io.compress.BZip2Codec": "bz2",
    "gzip": "gzip",
    "bz2": "bz2",
}


def codec(name):
    if name is None:
        return None
    try:
        return _CODECS[name]
    except KeyError:
        raise ValueError(f"unsupported compressionCodecClass {name!r}: use one of "
                         f"{sorted(_CODECS)}") from None
