# attack: fork worker processes with multiprocessing
# expect: import of 'multiprocessing' is not allowed (process or thread creation)
import multiprocessing

multiprocessing.Process(target=print, args=("child",)).start()
