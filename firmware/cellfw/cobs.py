"""Consistent Overhead Byte Stuffing: the encoded form never contains 0x00."""


def encode(data):
    out = bytearray(1)
    code_at = 0
    code = 1
    last = len(data) - 1
    for i in range(len(data)):
        byte = data[i]
        if byte:
            out.append(byte)
            code += 1
            if code < 0xFF:
                continue
            if i == last:  # a full block ends the data: no trailing block
                break
        out[code_at] = code
        code = 1
        code_at = len(out)
        out.append(0)
    out[code_at] = code
    return bytes(out)


def decode(data):
    """Raise ValueError if ``data`` is not a valid COBS encoding."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        end = i + code
        if code == 0 or end > n:
            raise ValueError("bad COBS code")
        block = data[i + 1 : end]
        if 0 in block:
            raise ValueError("zero inside COBS block")
        out.extend(block)
        i = end
        if code < 0xFF and i < n:
            out.append(0)
    return bytes(out)
