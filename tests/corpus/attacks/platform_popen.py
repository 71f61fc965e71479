# attack: platform runs external commands (uname) behind the scenes
# expect: import of 'platform' is not allowed (process or thread creation)
import platform

print(platform.uname())
