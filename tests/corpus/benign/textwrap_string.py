import string
import textwrap

text = (
    "Dynamic one-time tools let a model write a small program for a task that no "
    "existing tool covers, run it once in a sandbox, and use its output."
)
print(textwrap.fill(text, width=40))
print(textwrap.shorten(text, width=30, placeholder="..."))
print(
    textwrap.dedent("""\
    indented
      more
    """).rstrip()
)
template = string.Template("Hello $name, you have $count messages")
print(template.substitute(name="Ada", count=3))
print(string.ascii_lowercase[:5], string.capwords("hello wide world"))
