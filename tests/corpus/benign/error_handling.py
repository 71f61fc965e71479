class ValidationError(Exception):
    """Raised when a record is invalid."""

    def __init__(self, field, problem):
        super().__init__(f"{field}: {problem}")
        self.field = field


def parse_age(text):
    try:
        age = int(text)
    except ValueError as exc:
        raise ValidationError("age", f"not a number ({text!r})") from exc
    if age < 0:
        raise ValidationError("age", "negative")
    return age


for raw in ("42", "-1", "forty"):
    try:
        print("ok", parse_age(raw))
    except ValidationError as err:
        print(type(err).__name__, err, err.field, type(err.__cause__).__name__)
