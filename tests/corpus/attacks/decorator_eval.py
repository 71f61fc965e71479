# attack: a decorator that evaluates the function's docstring as code
# expect: eval is not allowed
@(lambda f: eval(f.__doc__))
def payload():
    """print('decorated')"""
