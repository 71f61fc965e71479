# attack: walk the interpreter stack to the bootstrap's frame and its globals
# expect: attribute 'traceback.walk_stack' is not allowed
import traceback

for frame, _line in traceback.walk_stack(None):
    print(frame)
