# attack: climb from an exception's traceback frame to the bootstrap's globals (os, sys)
# expect: access to attribute 'tb_frame' is not allowed
try:
    1 / 0
except ZeroDivisionError as exc:
    print(exc.__traceback__.tb_frame.f_back.f_globals)
