# attack: uuid has no __all__, so a star import brings its os module in
# expect: the name 'os' is not allowed
from uuid import *  # noqa: F403

os.system("id")  # noqa: F405
