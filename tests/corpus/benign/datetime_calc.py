from datetime import date, datetime, timedelta, timezone

start = datetime(2025, 3, 30, 23, 30, tzinfo=timezone.utc)
later = start + timedelta(hours=5, minutes=45)
print(later.isoformat())
print((date(2025, 12, 25) - date(2025, 1, 1)).days)
print(start.strftime("%A %d %B %Y"), later.weekday())
offset = timezone(timedelta(hours=2))
print(later.astimezone(offset).isoformat())
print(datetime.fromisoformat("2024-02-29T12:00:00").replace(year=2028).date())
