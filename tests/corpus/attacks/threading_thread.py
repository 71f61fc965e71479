# attack: start a thread that outlives the tool
# expect: import of 'threading' is not allowed (process or thread creation)
import threading

threading.Thread(target=print, args=("from a thread",)).start()
