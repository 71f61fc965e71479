# attack: call libc directly through ctypes
# expect: import of 'ctypes' is not allowed
import ctypes

ctypes.CDLL(None).system(b"id")
