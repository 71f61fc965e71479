# attack: start a thread pool through concurrent.futures
# expect: import from 'concurrent.futures' is not allowed
from concurrent.futures import ThreadPoolExecutor

with ThreadPoolExecutor() as pool:
    print(pool.submit(sum, [1, 2]).result())
