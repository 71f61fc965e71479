# attack: open a network connection through asyncio
# expect: import of 'asyncio' is not allowed (network access)
import asyncio

asyncio.run(asyncio.open_connection("127.0.0.1", 9))
