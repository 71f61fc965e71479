import json

legacy_data = "JOHN|25|NYC|50000\nJANE|30|LA|75000"
records = []
for line in legacy_data.strip().split("\n"):
    if line.strip():
        name, age, city, salary = line.split("|")
        records.append({"name": name, "age": int(age), "city": city, "salary": int(salary)})
print(json.dumps(records, indent=2))
