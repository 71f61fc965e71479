# attack: drop into the debugger, which can run anything
# expect: breakpoint is not allowed
breakpoint()
