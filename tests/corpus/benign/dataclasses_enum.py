from dataclasses import asdict, dataclass, field
from enum import Enum, auto


class Status(Enum):
    OPEN = auto()
    DONE = auto()


@dataclass(order=True)
class Task:
    priority: int
    title: str = field(compare=False)
    status: Status = field(default=Status.OPEN, compare=False)
    tags: list = field(default_factory=list, compare=False)


tasks = sorted([Task(3, "write docs"), Task(1, "fix bug", tags=["urgent"]), Task(2, "review")])
tasks[0].status = Status.DONE
for t in tasks:
    print(t.priority, t.title, t.status.name, t.tags)
print(asdict(tasks[0])["title"], Status["DONE"].value, [s.name for s in Status])
