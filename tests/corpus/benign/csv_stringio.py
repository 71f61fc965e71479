import csv
import io

raw = "name,score\nada,91\ngrace,88\nlinus,79\n"
rows = list(csv.DictReader(io.StringIO(raw)))
total = sum(int(r["score"]) for r in rows)
print(f"{len(rows)} rows, total {total}")

out = io.StringIO()
writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
writer.writerow(["name", "grade"])
for r in rows:
    writer.writerow([r["name"].title(), "A" if int(r["score"]) >= 85 else "B"])
print(out.getvalue().strip())
