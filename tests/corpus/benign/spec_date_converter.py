from datetime import datetime

custom_date = "20250907-143022"
date_part, time_part = custom_date.split("-")
dt = datetime(
    int(date_part[:4]),  # year
    int(date_part[4:6]),  # month
    int(date_part[6:8]),  # day
    int(time_part[:2]),  # hour
    int(time_part[2:4]),  # minute
    int(time_part[4:6]),  # second
)
print(f"ISO: {dt.isoformat()}")
print(f"Human: {dt.strftime('%Y-%m-%d %H:%M:%S')}")
