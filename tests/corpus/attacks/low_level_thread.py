# attack: start a thread with the low-level _thread module
# expect: import of '_thread' is not allowed
import _thread

_thread.start_new_thread(print, ("thread",))
