import base64
import binascii
import hashlib
import hmac

message = b"dynamic one-time tools"
print(hashlib.sha256(message).hexdigest())
print(hashlib.md5(message).hexdigest())
encoded = base64.b64encode(message)
print(encoded.decode(), base64.b64decode(encoded) == message)
print(binascii.hexlify(b"\x00\xff").decode())
print(hmac.new(b"key", message, "sha256").hexdigest()[:16])
