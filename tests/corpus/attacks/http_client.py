# attack: make an HTTP request with http.client
# expect: 'http.client' is not allowed (network access)
import http.client

conn = http.client.HTTPConnection("127.0.0.1", 9, timeout=1)
conn.request("GET", "/")
