# attack: read a host file through traceback's linecache module
# expect: access to attribute 'linecache' is not allowed
import traceback

print(traceback.linecache.getlines("/etc/passwd"))
