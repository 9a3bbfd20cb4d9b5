"""Record, ack and consumed-row files shared by the Python client programs (format: e2e/lib/records.mjs)."""
import json
import sys


def _unhex(field):
    return None if field == '-' else bytes.fromhex(field)


def _hex(b):
    return '-' if b is None else bytes(b).hex()


def read_records(path):
    """Returns [(key, value, [(name_str, value_bytes_or_None)])]."""
    records = []
    with open(path, 'r', encoding='ascii') as f:
        for line in f:
            line = line.rstrip('\n')
            if not line:
                continue
            key, value, headers = line.split('\t')
            hs = []
            if headers:
                for pair in headers.split(','):
                    name, hv = pair.split(':')
                    hs.append((bytes.fromhex(name).decode('utf-8'), _unhex(hv)))
            records.append((_unhex(key), _unhex(value), hs))
    return records


def encode_headers(headers):
    if not headers:
        return ''
    return ','.join('%s:%s' % (_hex(name.encode('utf-8') if isinstance(name, str) else name), _hex(v)) for name, v in headers)


def row(partition, offset, key, value, headers):
    return '%d\t%d\t%s\t%s\t%s\n' % (partition, offset, _hex(key), _hex(value), encode_headers(headers))


class LineFile:
    """Append-only text file flushed after every write (a killed process loses nothing it reported)."""

    def __init__(self, path):
        self.f = open(path, 'a', encoding='ascii', buffering=1)

    def write(self, text):
        self.f.write(text)
        self.f.flush()

    def close(self):
        self.f.close()


def event(kind, **fields):
    """One machine-readable line on stdout for the harness: EVENT {json}."""
    sys.stdout.write('EVENT ' + json.dumps(dict(kind=kind, **fields)) + '\n')
    sys.stdout.flush()
