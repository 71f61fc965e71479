# attack: make an HTTP request with urllib
# expect: import of 'urllib.request' is not allowed (network access)
import urllib.request

print(urllib.request.urlopen("http://127.0.0.1:9/", timeout=1).read())
