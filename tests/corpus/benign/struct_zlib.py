import array
import struct
import zlib

packed = struct.pack("<IhB", 70000, -2, 255)
print(packed.hex(), struct.unpack("<IhB", packed), struct.calcsize("<IhB"))
data = b"abc" * 100
compressed = zlib.compress(data)
print(len(data), len(compressed) < len(data), zlib.decompress(compressed) == data, zlib.crc32(data))
arr = array.array("i", [3, 1, 2])
arr.append(5)
print(arr.tolist(), arr.itemsize)
