# attack: reach os through tempfile._os
# expect: access to attribute '_os' is not allowed
import tempfile

print(tempfile._os.listdir("/"))
