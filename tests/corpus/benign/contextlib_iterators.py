import contextlib
import io
import operator


class Countdown:
    def __init__(self, start):
        self.current = start

    def __iter__(self):
        return self

    def __next__(self):
        if self.current <= 0:
            raise StopIteration
        self.current -= 1
        return self.current + 1


@contextlib.contextmanager
def tag(name, sink):
    sink.write(f"<{name}>")
    yield
    sink.write(f"</{name}>")


buffer = io.StringIO()
with tag("b", buffer):
    buffer.write("bold")
print(buffer.getvalue())
with contextlib.suppress(KeyError):
    {}["missing"]
print(list(Countdown(3)))
pairs = [("b", 2), ("a", 1)]
print(sorted(pairs, key=operator.itemgetter(1)), operator.attrgetter("real")(5))
