# attack: walk from a generator frame to its caller's globals
# expect: access to attribute 'gi_frame' is not allowed
gen = (x for x in [1])
print(gen.gi_frame.f_back.f_globals)
