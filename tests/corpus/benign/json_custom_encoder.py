import json
from datetime import date
from decimal import Decimal


class Encoder(json.JSONEncoder):
    def default(self, o):
        if isinstance(o, date):
            return o.isoformat()
        if isinstance(o, Decimal):
            return str(o)
        return super().default(o)


payload = {"when": date(2025, 9, 7), "amount": Decimal("12.50"), "ok": True}
text = json.dumps(payload, cls=Encoder, sort_keys=True)
print(text)
back = json.loads(text, parse_float=Decimal)
print(sorted(back), back["amount"])
try:
    json.loads("{bad json}")
except json.JSONDecodeError as exc:
    print("error at column", exc.colno)
